package hostside

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// SecretStore keeps a flat file bundle (the PKI) in one host Secret, so every replica and every
// restart uses the same certificates.
type SecretStore struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	VCluster  string
}

// Load returns the Secret's data, empty when it does not exist yet.
func (s SecretStore) Load(ctx context.Context) (map[string][]byte, error) {
	sec, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, err
	}
	return sec.Data, nil
}

// Save creates or replaces the Secret's data.
func (s SecretStore) Save(ctx context.Context, files map[string][]byte) error {
	return ApplySecret(ctx, s.Client, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: map[string]string{LabelManagedBy: s.VCluster}},
		Type:       corev1.SecretTypeOpaque,
		Data:       files,
	})
}

// ApplySecret creates the Secret or updates its data and labels.
func ApplySecret(ctx context.Context, c kubernetes.Interface, want *corev1.Secret) error {
	api := c.CoreV1().Secrets(want.Namespace)
	_, err := api.Create(ctx, want, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	live, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	live.Data = want.Data
	if live.Labels == nil {
		live.Labels = map[string]string{}
	}
	for k, v := range want.Labels {
		live.Labels[k] = v
	}
	_, err = api.Update(ctx, live, metav1.UpdateOptions{})
	return err
}
