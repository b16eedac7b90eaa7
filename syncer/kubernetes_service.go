package syncer

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// EnsureKubernetesService points the virtual default/kubernetes Service at vkube's host Service
// IP: the apiserver would give it the first IP of the shared range, which on the host is the
// host's own API. The Service is recreated with that IP, and its endpoints name the address host
// pods reach the virtual apiserver at.
func EnsureKubernetesService(ctx context.Context, c kubernetes.Interface, clusterIP, address string, port int) error {
	svcs := c.CoreV1().Services("default")
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		live, err := svcs.Get(ctx, "kubernetes", metav1.GetOptions{})
		if err == nil && live.Spec.ClusterIP == clusterIP {
			return true, nil
		}
		if err == nil {
			uid := live.UID
			if err := svcs.Delete(ctx, "kubernetes", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
				return false, nil
			}
		}
		_, err = svcs.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
			Spec:       corev1.ServiceSpec{ClusterIP: clusterIP, Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt(port)}}},
		}, metav1.CreateOptions{})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("pointing default/kubernetes at %s: %w", clusterIP, err)
	}
	eps := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: address}},
			Ports: []corev1.EndpointPort{{Name: "https", Port: int32(port), Protocol: corev1.ProtocolTCP}}}},
	}
	api := c.CoreV1().Endpoints("default")
	if _, err := api.Create(ctx, eps, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		live, err := api.Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			return err
		}
		live.Subsets = eps.Subsets
		_, err = api.Update(ctx, live, metav1.UpdateOptions{})
		return err
	} else if err != nil {
		return err
	}
	return nil
}
