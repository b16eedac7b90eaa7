package syncer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/util/keyutil"
)

// localTokens mints the pod-bound ServiceAccount tokens a TokenRequest returns, with the same
// claims and the same key, without the round trip: under a burst of pods the TokenRequest was the
// longest step of a pod's sync and a share of the virtual API server's CPU. It mints nothing until
// the virtual API server has accepted one of its tokens (learn): a distro that signs with a key
// of its own, or an issuer or audience changed by extra arguments, keeps TokenRequest.
type localTokens struct {
	signer   jose.Signer
	alg      jose.SignatureAlgorithm
	public   crypto.PublicKey
	accounts corelisters.ServiceAccountLister
	// nodes is the virtual nodes' informer cache (set once the informers exist).
	nodes   corelisters.NodeLister
	virtual kubernetes.Interface
	log     *slog.Logger

	mu       sync.Mutex
	state    calibration
	issuer   string
	audience []string
}

type calibration int

const (
	uncalibrated calibration = iota
	calibrating
	calibrated
	refused
)

// registeredClaims are a token's standard claims as the API server writes them: its audience is
// always a list (go-jose's jwt.Claims writes a list of one as a string).
type registeredClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  []string         `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
}

// podBoundClaims are the API server's private claims of a pod-bound token ("kubernetes.io").
type podBoundClaims struct {
	Kubernetes struct {
		Namespace      string   `json:"namespace"`
		ServiceAccount claimRef `json:"serviceaccount"`
		Pod            claimRef `json:"pod"`
		// Node is the node the pod is bound to, as the API server adds it (ServiceAccountTokenPodNodeInfo).
		Node *claimRef `json:"node,omitempty"`
	} `json:"kubernetes.io"`
}

type claimRef struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

func newLocalTokens(keyPEM []byte, accounts corelisters.ServiceAccountLister, virtual kubernetes.Interface, log *slog.Logger) (*localTokens, error) {
	parsed, err := keyutil.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("service-account key: %w", err)
	}
	var alg jose.SignatureAlgorithm
	var public crypto.PublicKey
	switch key := parsed.(type) {
	case *rsa.PrivateKey:
		alg, public = jose.RS256, &key.PublicKey
	case *ecdsa.PrivateKey:
		public = &key.PublicKey
		switch key.Curve {
		case elliptic.P256():
			alg = jose.ES256
		case elliptic.P384():
			alg = jose.ES384
		case elliptic.P521():
			alg = jose.ES512
		default:
			return nil, fmt.Errorf("service-account key: curve %s cannot sign tokens", key.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("service-account key: a %T cannot sign tokens", parsed)
	}
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return nil, fmt.Errorf("service-account key: %w", err)
	}
	// The key ID the API server gives its own key, so that it finds the key by the header.
	sum := sha256.Sum256(der)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: &jose.JSONWebKey{
		Key: parsed, KeyID: base64.RawURLEncoding.EncodeToString(sum[:]), Algorithm: string(alg), Use: "sig"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("service-account key: %w", err)
	}
	return &localTokens{signer: signer, alg: alg, public: public, accounts: accounts, virtual: virtual, log: log}, nil
}

// mint signs a token bound to pod for audience (the API server's when empty), valid for
// lifetime; ok is false until calibrated.
func (l *localTokens) mint(ctx context.Context, pod *corev1.Pod, audience string, lifetime time.Duration) (token string, expiry time.Time, ok bool, err error) {
	l.mu.Lock()
	state, issuer, audiences := l.state, l.issuer, l.audience
	l.mu.Unlock()
	if state != calibrated {
		return "", time.Time{}, false, nil
	}
	if audience != "" {
		audiences = []string{audience}
	}
	token, expiry, err = l.sign(ctx, pod, issuer, audiences, lifetime)
	return token, expiry, err == nil, err
}

func (l *localTokens) sign(ctx context.Context, pod *corev1.Pod, issuer string, audience []string, lifetime time.Duration) (string, time.Time, error) {
	name := serviceAccountOf(pod)
	sa, err := l.accounts.ServiceAccounts(pod.Namespace).Get(name)
	if apierrors.IsNotFound(err) {
		// Just created: the informer may not have it yet.
		sa, err = l.virtual.CoreV1().ServiceAccounts(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("service account %s/%s: %w", pod.Namespace, name, err)
	}
	now := time.Now()
	expiry := now.Add(lifetime)
	public := registeredClaims{
		Issuer: issuer, Subject: "system:serviceaccount:" + pod.Namespace + ":" + name, Audience: audience,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(expiry),
		ID: uuid.NewString(),
	}
	var private podBoundClaims
	private.Kubernetes.Namespace = pod.Namespace
	private.Kubernetes.ServiceAccount = claimRef{Name: sa.Name, UID: string(sa.UID)}
	private.Kubernetes.Pod = claimRef{Name: pod.Name, UID: string(pod.UID)}
	if pod.Spec.NodeName != "" {
		node, err := l.node(ctx, pod.Spec.NodeName)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("node %s of the pod: %w", pod.Spec.NodeName, err)
		}
		private.Kubernetes.Node = &claimRef{Name: node.Name, UID: string(node.UID)}
	}
	token, err := jwt.Signed(l.signer).Claims(public).Claims(private).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing a token: %w", err)
	}
	return token, expiry, nil
}

// learn calibrates once, from a token the API server minted for pod: it must carry this key's
// signature, and a token minted here for the same pod, with its issuer and audiences, must pass
// the API server's TokenReview. A failed review turns local minting off for good; a failed
// request leaves it for the next pod.
func (l *localTokens) learn(ctx context.Context, pod *corev1.Pod, minted string, lifetime time.Duration) {
	l.mu.Lock()
	if l.state != uncalibrated {
		l.mu.Unlock()
		return
	}
	l.state = calibrating
	l.mu.Unlock()
	next, claims, why := l.calibrate(ctx, pod, minted, lifetime)
	l.mu.Lock()
	l.state, l.issuer, l.audience = next, claims.Issuer, claims.Audience
	l.mu.Unlock()
	switch next {
	case calibrated:
		l.log.Info("minting pod tokens with the service-account key", "issuer", claims.Issuer)
	case refused:
		l.log.Info("pod tokens come from TokenRequest", "reason", why)
	}
}

func (l *localTokens) calibrate(ctx context.Context, pod *corev1.Pod, minted string, lifetime time.Duration) (calibration, jwt.Claims, string) {
	var claims jwt.Claims
	parsed, err := jwt.ParseSigned(minted, []jose.SignatureAlgorithm{l.alg})
	if err != nil {
		return refused, claims, "the API server's tokens are not signed with " + string(l.alg)
	}
	if err := parsed.Claims(l.public, &claims); err != nil {
		return refused, claims, "the API server signs tokens with another key"
	}
	token, _, err := l.sign(ctx, pod, claims.Issuer, claims.Audience, lifetime)
	if err != nil {
		return uncalibrated, claims, err.Error()
	}
	review, err := l.virtual.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return uncalibrated, claims, err.Error()
	}
	want := "system:serviceaccount:" + pod.Namespace + ":" + serviceAccountOf(pod)
	if !review.Status.Authenticated || review.Status.User.Username != want {
		return refused, claims, fmt.Sprintf("the API server did not accept a token minted here (%s)", review.Status.Error)
	}
	return calibrated, claims, ""
}

// calibrated: tokens are signed here (and carry the node claims of a bound pod).
func (l *localTokens) calibrated() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state == calibrated
}

// node is the virtual node a pod is bound to: the API server checks a token's node claim against
// it (name and UID).
func (l *localTokens) node(ctx context.Context, name string) (*corev1.Node, error) {
	if l.nodes != nil {
		if n, err := l.nodes.Get(name); err == nil {
			return n, nil
		}
	}
	return l.virtual.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
}

func serviceAccountOf(pod *corev1.Pod) string {
	if pod.Spec.ServiceAccountName == "" {
		return "default"
	}
	return pod.Spec.ServiceAccountName
}
