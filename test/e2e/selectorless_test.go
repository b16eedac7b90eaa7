package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/syncer/translate"
)

// TestSelectorlessServices: a virtual Service without a selector whose endpoints the tenant
// manages works from pods on the host. Its Endpoints become EndpointSlices through the virtual
// EndpointSliceMirroring controller, a tenant's own EndpointSlice is taken as it is, and both
// get host twins that the host's kube-proxy routes the Service's ClusterIP to (the slices of a
// Service with a selector stay the host controller's business). Deleting the Endpoints or the
// Service deletes the twins.
func TestSelectorlessServices(t *testing.T) {
	const name, ns = "selectorless", "default"
	v, hc, hostNS := startOnHost(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	vc := v.Client()

	backend := helloPod("backend", nil)
	backend.Labels = map[string]string{"app": "backend"}
	for _, p := range []*corev1.Pod{backend, helloPod("client", nil)} {
		if _, err := vc.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var backendIP string
	poll(ctx, t, "the backend and client pods Running", func() bool {
		b, e1 := vc.CoreV1().Pods(ns).Get(ctx, "backend", metav1.GetOptions{})
		c, e2 := vc.CoreV1().Pods(ns).Get(ctx, "client", metav1.GetOptions{})
		if e1 != nil || e2 != nil {
			return false
		}
		backendIP = b.Status.PodIP
		return b.Status.Phase == corev1.PodRunning && backendIP != "" && c.Status.Phase == corev1.PodRunning
	})
	httpPort := []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt(8080)}}
	for _, svc := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "selected"}, Spec: corev1.ServiceSpec{Selector: backend.Labels, Ports: httpPort}},
		{ObjectMeta: metav1.ObjectMeta{Name: "mirrored"}, Spec: corev1.ServiceSpec{Ports: httpPort}},
		{ObjectMeta: metav1.ObjectMeta{Name: "own-slice"}, Spec: corev1.ServiceSpec{Ports: httpPort}},
	} {
		if _, err := vc.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// The tenant's Endpoints, mirrored into a slice by the virtual controller-manager.
	eps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "mirrored"}, Subsets: []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: backendIP, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "backend", Namespace: ns}}},
		Ports:     []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}},
	}}}
	if _, err := vc.CoreV1().Endpoints(ns).Create(ctx, eps, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var mirroredSlice string
	poll(ctx, t, "the virtual EndpointSliceMirroring controller's slice of the Endpoints", func() bool {
		mirroredSlice = sliceOf(ctx, vc, ns, "mirrored", "endpointslicemirroring-controller.k8s.io")
		return mirroredSlice != ""
	})
	hostMirrored := translate.HostName(mirroredSlice, ns, name)
	poll(ctx, t, "the host twin "+hostMirrored+" of the mirrored slice", func() bool {
		h, err := hc.DiscoveryV1().EndpointSlices(hostNS).Get(ctx, hostMirrored, metav1.GetOptions{})
		if err != nil || len(h.Endpoints) != 1 {
			return false
		}
		e := h.Endpoints[0]
		return h.Labels[discoveryv1.LabelServiceName] == translate.HostName("mirrored", ns, name) &&
			h.Labels[discoveryv1.LabelManagedBy] == "syncer.vkube.io" && h.Labels[translate.LabelManagedBy] == name &&
			len(e.Addresses) == 1 && e.Addresses[0] == backendIP &&
			e.TargetRef != nil && e.TargetRef.Namespace == hostNS && e.TargetRef.Name == translate.HostName("backend", ns, name)
	})

	// The tenant's own EndpointSlice.
	own := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "own-slice-1", Labels: map[string]string{discoveryv1.LabelServiceName: "own-slice", discoveryv1.LabelManagedBy: "tenant.example.com"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{backendIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	if _, err := vc.DiscoveryV1().EndpointSlices(ns).Create(ctx, own, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hostOwn := translate.HostName(own.Name, ns, name)
	poll(ctx, t, "the host twin "+hostOwn+" of the tenant's slice", func() bool {
		h, err := hc.DiscoveryV1().EndpointSlices(hostNS).Get(ctx, hostOwn, metav1.GetOptions{})
		return err == nil && h.Labels[discoveryv1.LabelServiceName] == translate.HostName("own-slice", ns, name)
	})

	// From a pod on the host, by name (vkube's DNS) and so through the ClusterIP (kube-proxy).
	for _, url := range []string{"http://mirrored/", "http://mirrored." + ns + ".svc.cluster.local/", "http://own-slice/"} {
		poll(ctx, t, "a request to "+url+" from a virtual pod", func() bool {
			out, err := execIn(ctx, v, ns, "client", "/hello", "get", url)
			return err == nil && strings.Contains(out, "200 OK")
		})
	}

	// The selector Service's slice, made by the virtual endpointslice controller, has no twin:
	// the host's controller makes the host's from the host pods.
	var selectedSlice string
	poll(ctx, t, "the virtual endpointslice controller's slice of the selector Service", func() bool {
		selectedSlice = sliceOf(ctx, vc, ns, "selected", "endpointslice-controller.k8s.io")
		return selectedSlice != ""
	})
	if _, err := hc.DiscoveryV1().EndpointSlices(hostNS).Get(ctx, translate.HostName(selectedSlice, ns, name), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the selector Service's slice %s has a host twin (%v)", selectedSlice, err)
	}

	if err := vc.CoreV1().Endpoints(ns).Delete(ctx, "mirrored", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := vc.CoreV1().Services(ns).Delete(ctx, "own-slice", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the twins gone with the Endpoints and with the Service", func() bool {
		_, e1 := hc.DiscoveryV1().EndpointSlices(hostNS).Get(ctx, hostMirrored, metav1.GetOptions{})
		_, e2 := hc.DiscoveryV1().EndpointSlices(hostNS).Get(ctx, hostOwn, metav1.GetOptions{})
		return apierrors.IsNotFound(e1) && apierrors.IsNotFound(e2)
	})
}

// sliceOf names a virtual EndpointSlice of Service svc managed by managedBy, or "".
func sliceOf(ctx context.Context, vc kubernetes.Interface, ns, svc, managedBy string) string {
	list, err := vc.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc + "," + discoveryv1.LabelManagedBy + "=" + managedBy})
	if err != nil || len(list.Items) == 0 {
		return ""
	}
	return list.Items[0].Name
}
