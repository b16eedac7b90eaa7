// Package hostside is what vkube keeps in its host namespace: the facts it learns from the host
// (service CIDR), the Secrets it persists (PKI, kubeconfig), and the Service that fronts the
// virtual API for host pods.
package hostside

import (
	"context"
	"fmt"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

var validRange = regexp.MustCompile(`valid IPs is ([0-9a-fA-F.:/]+)`)

// ServiceCIDR learns the host's service range the way a namespaced client can: a dry-run Service
// asking for an IP outside any range makes the apiserver name its range in the refusal.
func ServiceCIDR(ctx context.Context, host kubernetes.Interface, namespace string) (string, error) {
	probe := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "vkube-cidr-probe-", Namespace: namespace},
		Spec:       corev1.ServiceSpec{ClusterIP: "1.1.1.1", Ports: []corev1.ServicePort{{Port: 80}}},
	}
	_, err := host.CoreV1().Services(namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err == nil {
		return "", fmt.Errorf("host accepted 1.1.1.1 as a ClusterIP; set controlPlane.advanced.serviceCIDR to the host's service range")
	}
	if m := validRange.FindStringSubmatch(err.Error()); m != nil {
		return m[1], nil
	}
	if apierrors.IsForbidden(err) {
		return "", fmt.Errorf("detecting the host service CIDR: %w (grant create on services in %s, or set controlPlane.advanced.serviceCIDR)", err, namespace)
	}
	return "", fmt.Errorf("detecting the host service CIDR from %q: set controlPlane.advanced.serviceCIDR", err)
}
