package syncer

import (
	"context"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/syncer/translate"
)

const (
	tokenLifetime = time.Hour
	// tokenRenewal: a token with less than this left is re-minted on the next reconcile (the
	// informers resync every few minutes, so it always happens well before expiry).
	tokenRenewal = 20 * time.Minute
)

// tokens mints virtual ServiceAccount tokens for host pods and keeps them in host Secrets: the
// host kubelet cannot ask the virtual apiserver for them.
type tokens struct {
	tctx    translate.Context
	virtual kubernetes.Interface
	host    kubernetes.Interface
	ca      []byte
	mu      sync.Mutex
	expiry  map[string]time.Time
}

func secretName(hostPod string) string { return translate.SafeName(hostPod + "-token") }

// ensure returns the host Secret holding a fresh token for the pod ("" when the pod mounts none).
func (t *tokens) ensure(ctx context.Context, pod *corev1.Pod, hostPod string) (string, error) {
	if !mountsToken(pod) {
		return "", nil
	}
	name := secretName(hostPod)
	t.mu.Lock()
	exp, ok := t.expiry[name]
	t.mu.Unlock()
	if ok && time.Until(exp) > tokenRenewal {
		return name, nil
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	seconds := int64(tokenLifetime.Seconds())
	tr, err := t.virtual.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{
		ExpirationSeconds: &seconds,
		BoundObjectRef:    &authnv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.tctx.HostNamespace,
			Labels:      t.tctx.HostLabels(pod.Namespace, nil),
			Annotations: map[string]string{translate.AnnotationName: pod.Name, translate.AnnotationNamespace: pod.Namespace, translate.AnnotationKind: "ServiceAccountToken"}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": t.ca, "namespace": []byte(pod.Namespace)},
	}
	secrets := t.host.CoreV1().Secrets(t.tctx.HostNamespace)
	_, err = secrets.Create(ctx, secret, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var live *corev1.Secret
		if live, err = secrets.Get(ctx, name, metav1.GetOptions{}); err == nil {
			if live.Labels[translate.LabelManagedBy] != t.tctx.VCluster {
				return "", errNotOwned(name)
			}
			secret.ResourceVersion = live.ResourceVersion
			_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	t.expiry[name] = tr.Status.ExpirationTimestamp.Time
	t.mu.Unlock()
	return name, nil
}

// forget deletes the token Secret of a pod that is gone.
func (t *tokens) forget(ctx context.Context, hostPod string) {
	name := secretName(hostPod)
	t.mu.Lock()
	delete(t.expiry, name)
	t.mu.Unlock()
	secrets := t.host.CoreV1().Secrets(t.tctx.HostNamespace)
	if s, err := secrets.Get(ctx, name, metav1.GetOptions{}); err == nil && s.Labels[translate.LabelManagedBy] == t.tctx.VCluster {
		_ = secrets.Delete(ctx, name, metav1.DeleteOptions{})
	}
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
