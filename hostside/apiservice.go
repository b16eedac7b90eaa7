package hostside

import (
	"context"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"vkube.io/vkube/names"
)

// EnsureAPIService gives the virtual API a ClusterIP on the host: the Service NAME on port 443.
func EnsureAPIService(ctx context.Context, c kubernetes.Interface, namespace, name, address string, port int) (string, error) {
	return EnsureService(ctx, c, namespace, name, name, address, []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt(port), Protocol: corev1.ProtocolTCP}})
}

// EnsureDNSService gives vkube's DNS server port 53 on a host ClusterIP: NAME-dns.
func EnsureDNSService(ctx context.Context, c kubernetes.Interface, namespace, vcluster, address string, port int) (string, error) {
	return EnsureService(ctx, c, namespace, vcluster, names.DNSService(vcluster), address, []corev1.ServicePort{
		{Name: "dns", Port: 53, TargetPort: intstr.FromInt(port), Protocol: corev1.ProtocolUDP},
		{Name: "dns-tcp", Port: 53, TargetPort: intstr.FromInt(port), Protocol: corev1.ProtocolTCP},
	})
}

// EnsureService keeps a host Service of the virtual cluster. A supervisor running outside the
// host's pods has no pod for a selector, so the Service has none and an EndpointSlice points at
// the supervisor's address instead. Returns the ClusterIP.
func EnsureService(ctx context.Context, c kubernetes.Interface, namespace, vcluster, name, address string, ports []corev1.ServicePort) (string, error) {
	svcs := c.CoreV1().Services(namespace)
	want := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{names.LabelCluster: vcluster}},
		Spec:       corev1.ServiceSpec{Ports: ports},
	}
	svc, err := svcs.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		svc, err = svcs.Get(ctx, name, metav1.GetOptions{})
		if err == nil && svc.Labels[names.LabelCluster] != vcluster {
			return "", fmt.Errorf("host Service %s/%s exists and is not vkube's: delete it or pick another name", namespace, name)
		}
		if err == nil && len(svc.Spec.Selector) == 0 && !samePorts(svc.Spec.Ports, ports) {
			svc.Spec.Ports = want.Spec.Ports
			svc, err = svcs.Update(ctx, svc, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return "", fmt.Errorf("host API Service: %w", err)
	}
	if len(svc.Spec.Selector) > 0 {
		return svc.Spec.ClusterIP, nil
	}
	family := discoveryv1.AddressTypeIPv4
	if ip := net.ParseIP(address); ip != nil && ip.To4() == nil {
		family = discoveryv1.AddressTypeIPv6
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "vkube.io", names.LabelCluster: vcluster}},
		AddressType: family,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{address}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	for _, p := range ports {
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: ptr.To(p.Name), Port: ptr.To(int32(p.TargetPort.IntValue())), Protocol: ptr.To(p.Protocol)})
	}
	slices := c.DiscoveryV1().EndpointSlices(namespace)
	if _, err := slices.Create(ctx, slice, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		live, gerr := slices.Get(ctx, name, metav1.GetOptions{})
		if gerr != nil {
			return "", gerr
		}
		live.Endpoints, live.Ports = slice.Endpoints, slice.Ports
		if _, err := slices.Update(ctx, live, metav1.UpdateOptions{}); err != nil {
			return "", fmt.Errorf("host API EndpointSlice: %w", err)
		}
	} else if err != nil {
		return "", fmt.Errorf("host API EndpointSlice: %w", err)
	}
	return svc.Spec.ClusterIP, nil
}

func samePorts(a, b []corev1.ServicePort) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Port != b[i].Port || a[i].Protocol != b[i].Protocol || a[i].TargetPort.IntValue() != b[i].TargetPort.IntValue() {
			return false
		}
	}
	return true
}
