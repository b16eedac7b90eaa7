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
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"vkube.io/vkube/syncer/translate"
)

const (
	// tokenLifetime is the default token's (kube-api-access), as the kubelet asks for it.
	tokenLifetime = time.Hour
	// minRenewal: a token is re-minted once this much of it is left at most, and at 80% of its
	// life as the kubelet does when that leaves more: the informers resync every five minutes.
	minRenewal = 6 * time.Minute
	// nodeClaimDelay: a token minted before its pod was bound gets the node claims this long after.
	nodeClaimDelay = 30 * time.Second
)

// tokens mints virtual ServiceAccount tokens, bound to their virtual pod, for host pods: the host
// kubelet cannot ask the virtual apiserver for them. The tokens travel in the host pod's own
// annotations, or, with useSecrets, in a host Secret per pod; each projected source of its own
// audience or lifetime has its own.
type tokens struct {
	tctx       translate.Context
	virtual    kubernetes.Interface
	host       kubernetes.Interface
	ca         []byte
	useSecrets bool
	// hostSecrets is the informer cache of the host Secrets vkube owns, metadata only (set once
	// the controllers exist).
	hostSecrets cache.GenericLister
	// renewLater reconciles a pod again when its tokens are due (set once the controllers exist).
	renewLater func(key string, after time.Duration)
	// local, when set, mints tokens without a TokenRequest once calibrated.
	local *localTokens
	mu    sync.Mutex
	// stored is what each token Secret holds: when it is due, and for which node.
	stored map[string]storedTokens
}

type storedTokens struct {
	renewAt time.Time
	node    string
	issued  time.Time
}

func secretName(hostPod string) string { return translate.SafeName(hostPod + "-token") }

// ensure returns the pod's tokens (none when the pod mounts none). live is the host pod, whose
// annotated tokens are kept while they are fresh and name the pod's node, so that a restarted
// vkube does not rewrite every pod.
func (t *tokens) ensure(ctx context.Context, pod *corev1.Pod, hostPod string, live metav1.Object) (translate.Token, error) {
	specs := tokenSpecs(pod)
	if len(specs) == 0 {
		return translate.Token{}, nil
	}
	if !t.useSecrets {
		jwts := map[string]string{}
		for key, spec := range specs {
			if live != nil {
				if jwt := live.GetAnnotations()[translate.TokenAnnotation(key)]; jwt != "" {
					renewAt, node, issued := tokenDue(jwt)
					if due := t.replaceAt(pod, renewAt, node, issued); time.Now().Before(due) {
						jwts[key] = jwt
						t.renewAt(pod, due)
						continue
					}
				}
			}
			jwt, err := t.mint(ctx, pod, spec)
			if err != nil {
				return translate.Token{}, err
			}
			jwts[key] = jwt
		}
		return translate.Token{JWTs: jwts, CA: t.ca}, nil
	}
	name := secretName(hostPod)
	t.mu.Lock()
	have, ok := t.stored[name]
	t.mu.Unlock()
	if due := t.replaceAt(pod, have.renewAt, have.node, have.issued); ok && time.Now().Before(due) {
		t.renewAt(pod, due)
		return translate.Token{Secret: name}, nil
	}
	jwts := map[string]string{}
	var due time.Time
	for key, spec := range specs {
		jwt, err := t.mint(ctx, pod, spec)
		if err != nil {
			return translate.Token{}, err
		}
		jwts[key] = jwt
		if renewAt, _, _ := tokenDue(jwt); due.IsZero() || renewAt.Before(due) {
			due = renewAt
		}
	}
	if err := t.store(ctx, pod, name, jwts); err != nil {
		return translate.Token{}, err
	}
	t.mu.Lock()
	t.stored[name] = storedTokens{renewAt: due, node: pod.Spec.NodeName, issued: time.Now()}
	t.mu.Unlock()
	return translate.Token{Secret: name}, nil
}

// replaceAt is when a token of the pod, due for renewal at renewAt, minted at issued for the pod
// on node, is replaced. A token minted before the pod was bound lacks the node claims: when vkube
// signs tokens itself (it adds them) it is replaced nodeClaimDelay after it was minted, so that a
// burst of pods, or a pod that lives seconds, costs no second host write; otherwise it is kept
// until due (an API server that adds no node claims would have every pod rewritten on every sync).
func (t *tokens) replaceAt(pod *corev1.Pod, renewAt time.Time, node string, issued time.Time) time.Time {
	switch {
	case node == pod.Spec.NodeName:
		return renewAt
	case node == "" && t.local != nil && t.local.calibrated():
		return minTime(renewAt, issued.Add(nodeClaimDelay))
	case node == "":
		return renewAt
	}
	return time.Time{} // bound to another node: replaced now
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// renewAt has the pod reconciled when a token is due, should no resync come first.
// A renewal further off than the informers' resync needs none: the renewal window (minRenewal)
// is longer than a resync, and a timer per pod costs the queue on every reconcile.
func (t *tokens) renewAt(pod *corev1.Pod, at time.Time) {
	if d := time.Until(at); t.renewLater != nil && d < resync {
		t.renewLater(pod.Namespace+"/"+pod.Name, d+time.Second)
	}
}

// mint returns a token of spec bound to pod: signed here once calibrated, else from a
// TokenRequest (which calibrates the local signer with a token of the default audience).
func (t *tokens) mint(ctx context.Context, pod *corev1.Pod, spec translate.TokenSpec) (string, error) {
	lifetime := lifetimeOf(spec)
	jwt, err := t.mintToken(ctx, pod, spec, lifetime)
	if err == nil {
		renewAt, _, _ := tokenDue(jwt)
		t.renewAt(pod, renewAt)
	}
	return jwt, err
}

func (t *tokens) mintToken(ctx context.Context, pod *corev1.Pod, spec translate.TokenSpec, lifetime time.Duration) (string, error) {
	if t.local != nil {
		if jwt, _, ok, err := t.local.mint(ctx, pod, spec.Audience, lifetime); ok || err != nil {
			return jwt, err
		}
	}
	seconds := int64(lifetime.Seconds())
	req := &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
		ExpirationSeconds: &seconds,
		BoundObjectRef:    &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if spec.Audience != "" {
		req.Spec.Audiences = []string{spec.Audience}
	}
	tr, err := t.virtual.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, serviceAccountOf(pod), req, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	if t.local != nil && spec.Audience == "" {
		t.local.learn(ctx, pod, tr.Status.Token, lifetime)
	}
	return tr.Status.Token, nil
}

// lifetimeOf is how long a token of spec lives: the source's expirationSeconds, and the
// kubelet's hour for the default token.
func lifetimeOf(spec translate.TokenSpec) time.Duration {
	if spec.IsDefault() {
		return tokenLifetime
	}
	return time.Duration(spec.ExpirationSeconds) * time.Second
}

// tokenSpecs are the tokens pod mounts, by the key each is kept under.
func tokenSpecs(pod *corev1.Pod) map[string]translate.TokenSpec {
	specs := map[string]translate.TokenSpec{}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				spec := translate.TokenSpecOf(s.ServiceAccountToken)
				specs[translate.TokenKey(spec)] = spec
			}
		}
	}
	return specs
}

// store writes the token Secret, replacing an older one vkube owns.
func (t *tokens) store(ctx context.Context, pod *corev1.Pod, name string, jwts map[string]string) error {
	data := map[string][]byte{"ca.crt": t.ca, "namespace": []byte(pod.Namespace)}
	for key, jwt := range jwts {
		data[key] = []byte(jwt)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.tctx.HostNamespace,
			Labels: t.tctx.HostLabels(pod.Namespace, nil),
			Annotations: map[string]string{translate.AnnotationName: pod.Name, translate.AnnotationNamespace: pod.Namespace,
				translate.AnnotationUID: string(pod.UID), translate.AnnotationKind: tokenKind}},
		Type: corev1.SecretTypeOpaque,
		Data: data,
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
	delete(t.stored, name)
	t.mu.Unlock()
	// The informer only holds Secrets vkube owns: one it does not hold is left alone.
	obj, err := t.hostSecrets.ByNamespace(t.tctx.HostNamespace).Get(name)
	if err != nil {
		return
	}
	secret := metaOf(obj)
	if tokenOf(pod).Match(secret.GetAnnotations()) == translate.Foreign {
		return
	}
	uid := secret.GetUID()
	_ = t.host.CoreV1().Secrets(t.tctx.HostNamespace).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
}

// tokenDue reads when a JWT vkube minted is due for renewal, the node it is bound to and when it
// was minted (zero and "" when it cannot): only to decide when to renew, never to trust it.
func tokenDue(jwt string) (renewAt time.Time, node string, issued time.Time) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}, "", time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, "", time.Time{}
	}
	var claims struct {
		Exp, Iat   int64
		Kubernetes struct {
			Node struct{ Name string }
		} `json:"kubernetes.io"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp <= claims.Iat {
		return time.Time{}, "", time.Time{}
	}
	exp, lifetime := time.Unix(claims.Exp, 0), time.Duration(claims.Exp-claims.Iat)*time.Second
	window := max(lifetime/5, minRenewal)
	return exp.Add(-min(window, lifetime/2)), claims.Kubernetes.Node.Name, time.Unix(claims.Iat, 0)
}
