package syncer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"vkube.io/vkube/syncer/translate"
)

const (
	tokenLifetime = time.Hour
	// tokenRenewal: a token with less than this left is re-minted on the next reconcile (the
	// informers resync every few minutes, so it always happens well before expiry).
	tokenRenewal = 20 * time.Minute
)

// tokens mints virtual ServiceAccount tokens, bound to their virtual pod, for host pods: the host
// kubelet cannot ask the virtual apiserver for them. The token travels in the host pod's own
// annotations, or, with useSecrets, in a host Secret per pod.
type tokens struct {
	tctx       translate.Context
	virtual    kubernetes.Interface
	host       kubernetes.Interface
	ca         []byte
	useSecrets bool
	// hostSecrets is the informer cache of the host Secrets vkube owns (set once the controllers exist).
	hostSecrets cache.GenericLister
	// local, when set, mints tokens without a TokenRequest once calibrated.
	local  *localTokens
	mu     sync.Mutex
	expiry map[string]time.Time
}

func secretName(hostPod string) string { return translate.SafeName(hostPod + "-token") }

// ensure returns the pod's token (none when the pod mounts none). live is the host pod, whose
// annotated token is kept while it is fresh, so that a restarted vkube does not rewrite every pod.
func (t *tokens) ensure(ctx context.Context, pod *corev1.Pod, hostPod string, live metav1.Object) (translate.Token, error) {
	if !mountsToken(pod) {
		return translate.Token{}, nil
	}
	if !t.useSecrets {
		if live != nil {
			if jwt := live.GetAnnotations()[translate.AnnotationToken]; time.Until(tokenExpiry(jwt)) > tokenRenewal {
				return translate.Token{JWT: jwt, CA: t.ca}, nil
			}
		}
		jwt, _, err := t.mint(ctx, pod)
		if err != nil {
			return translate.Token{}, err
		}
		return translate.Token{JWT: jwt, CA: t.ca}, nil
	}
	name := secretName(hostPod)
	t.mu.Lock()
	exp, ok := t.expiry[name]
	t.mu.Unlock()
	if ok && time.Until(exp) > tokenRenewal {
		return translate.Token{Secret: name}, nil
	}
	jwt, expiry, err := t.mint(ctx, pod)
	if err != nil {
		return translate.Token{}, err
	}
	if err := t.store(ctx, pod, name, jwt); err != nil {
		return translate.Token{}, err
	}
	t.mu.Lock()
	t.expiry[name] = expiry
	t.mu.Unlock()
	return translate.Token{Secret: name}, nil
}

// mint returns a token bound to pod: signed here once calibrated, else from a TokenRequest.
func (t *tokens) mint(ctx context.Context, pod *corev1.Pod) (string, time.Time, error) {
	if t.local != nil {
		if jwt, expiry, ok, err := t.local.mint(ctx, pod, tokenLifetime); ok || err != nil {
			return jwt, expiry, err
		}
	}
	seconds := int64(tokenLifetime.Seconds())
	tr, err := t.virtual.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, serviceAccountOf(pod), &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
		ExpirationSeconds: &seconds,
		BoundObjectRef:    &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, err
	}
	if t.local != nil {
		t.local.learn(ctx, pod, tr.Status.Token, tokenLifetime)
	}
	return tr.Status.Token, tr.Status.ExpirationTimestamp.Time, nil
}

// store writes the token Secret, replacing an older one vkube owns.
func (t *tokens) store(ctx context.Context, pod *corev1.Pod, name, token string) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.tctx.HostNamespace,
			Labels: t.tctx.HostLabels(pod.Namespace, nil),
			Annotations: map[string]string{translate.AnnotationName: pod.Name, translate.AnnotationNamespace: pod.Namespace,
				translate.AnnotationUID: string(pod.UID), translate.AnnotationKind: tokenKind}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"token": []byte(token), "ca.crt": t.ca, "namespace": []byte(pod.Namespace)},
	}
	secrets := t.host.CoreV1().Secrets(t.tctx.HostNamespace)
	_, err := secrets.Create(ctx, secret, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	live, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	// Only this pod's token Secret (or an earlier pod's of its name, stale) is rewritten, never
	// another object's that happens to have the name.
	if !t.tctx.Owned(live) || tokenOf(pod).Match(live.Annotations) == translate.Foreign {
		return errNotOwned(name)
	}
	secret.ResourceVersion = live.ResourceVersion
	_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{})
	return err
}

// tokenKind is the kind a token Secret records: it is no twin of a virtual Secret.
const tokenKind = "ServiceAccountToken"

// tokenOf is the identity a pod's token Secret records.
func tokenOf(pod *corev1.Pod) translate.Identity { return translate.IdentityOf(tokenKind, pod) }

// forget deletes the token Secret of a pod that is gone.
func (t *tokens) forget(ctx context.Context, pod *corev1.Pod, hostPod string) {
	if !t.useSecrets {
		return
	}
	name := secretName(hostPod)
	t.mu.Lock()
	delete(t.expiry, name)
	t.mu.Unlock()
	// The informer only holds Secrets vkube owns: one it does not hold is left alone.
	obj, err := t.hostSecrets.ByNamespace(t.tctx.HostNamespace).Get(name)
	if err != nil {
		return
	}
	secret := obj.(*unstructured.Unstructured)
	if tokenOf(pod).Match(secret.GetAnnotations()) == translate.Foreign {
		return
	}
	uid := secret.GetUID()
	_ = t.host.CoreV1().Secrets(t.tctx.HostNamespace).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
}

// tokenExpiry reads the exp claim of a JWT vkube minted (zero when it cannot): only to decide
// when to renew, never to trust it.
func tokenExpiry(jwt string) time.Time {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}
	}
	return time.Unix(claims.Exp, 0)
}

func mountsToken(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				return true
			}
		}
	}
	return false
}
