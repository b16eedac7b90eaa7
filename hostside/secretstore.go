package hostside

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/certs"
	"vkube.io/vkube/names"
)

// SecretStore keeps a flat file bundle (the PKI) in one host Secret, so every replica and every
// restart uses the same certificates.
type SecretStore struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	VCluster  string
	// loaded is the Secret as Load saw it (nil: absent), so that Save only replaces that version.
	loaded *corev1.Secret
}

// Load returns the Secret's data, empty when it does not exist yet.
func (s *SecretStore) Load(ctx context.Context) (map[string][]byte, error) {
	sec, err := s.Client.CoreV1().Secrets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.loaded = nil
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, err
	}
	s.loaded = sec
	return sec.Data, nil
}

// Save creates the Secret, or replaces the data of the version Load saw; a replica that wrote in
// between makes it fail with certs.ErrConflict.
func (s *SecretStore) Save(ctx context.Context, files map[string][]byte) error {
	api := s.Client.CoreV1().Secrets(s.Namespace)
	var err error
	if s.loaded == nil {
		_, err = api.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: map[string]string{names.LabelCluster: s.VCluster}},
			Type:       corev1.SecretTypeOpaque,
			Data:       files,
		}, metav1.CreateOptions{})
	} else {
		sec := s.loaded.DeepCopy()
		sec.Data = files
		_, err = api.Update(ctx, sec, metav1.UpdateOptions{})
	}
	if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
		return fmt.Errorf("host Secret %s/%s: %w", s.Namespace, s.Name, certs.ErrConflict)
	}
	return err
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
