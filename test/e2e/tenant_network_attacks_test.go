package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/names"
	"vkube.io/vkube/syncer/translate"
)

// TEST-NET-1 addresses (RFC 5737): what a tenant would claim to capture another's traffic.
const (
	capturedIP     = "192.0.2.55"
	capturedLBIP   = "192.0.2.56"
	externalIPsKey = "policies.hostAccess.externalIPCIDRs"
)

var httpPort = []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt(8080)}}

// serviceExternalIPs: CVE-2020-8554. A Service's externalIPs make every node's kube-proxy send
// traffic for that address, cluster-wide, to the Service's pods; a tenant must not claim one,
// neither at create nor by editing a Service it has.
func (a *tenant) serviceExternalIPs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	svcs := a.vc.CoreV1().Services("default")
	capture := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "capture"}, Spec: corev1.ServiceSpec{
		ExternalIPs: []string{capturedIP}, Ports: httpPort}}
	_, err := svcs.Create(ctx, capture, metav1.CreateOptions{})
	checkDenied(t, "a Service with spec.externalIPs", err, "spec.externalIPs", externalIPsKey)
	a.noHostService(ctx, t, "spec.externalIPs "+capturedIP, func(s corev1.Service) bool { return slices.Contains(s.Spec.ExternalIPs, capturedIP) })

	// kubectl edit: a plain Service, then a merge patch adding the address.
	if _, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "edited"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "edited"}, Ports: httpPort}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a plain Service: %v", err)
	}
	_, err = svcs.Patch(ctx, "edited", types.MergePatchType, []byte(`{"spec":{"externalIPs":["`+capturedIP+`"]}}`), metav1.PatchOptions{})
	checkDenied(t, "editing spec.externalIPs into a Service", err, "spec.externalIPs", externalIPsKey)
	a.noHostService(ctx, t, "spec.externalIPs "+capturedIP+" (edited in)", func(s corev1.Service) bool { return slices.Contains(s.Spec.ExternalIPs, capturedIP) })
}

// serviceLoadBalancerIP: a requested load-balancer address is the same capture through the
// host's load-balancer implementation.
func (a *tenant) serviceLoadBalancerIP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lb := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "capture-lb"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, LoadBalancerIP: capturedLBIP, Selector: map[string]string{"app": "capture"}, Ports: httpPort}}
	_, err := a.vc.CoreV1().Services("default").Create(ctx, lb, metav1.CreateOptions{})
	checkDenied(t, "a Service with spec.loadBalancerIP", err, "spec.loadBalancerIP", externalIPsKey)
	a.noHostService(ctx, t, "load-balancer address "+capturedLBIP, func(s corev1.Service) bool {
		if s.Spec.LoadBalancerIP == capturedLBIP {
			return true
		}
		for _, in := range s.Status.LoadBalancer.Ingress {
			if in.IP == capturedLBIP {
				return true
			}
		}
		return false
	})
}

// checkDenied wants err to be the Service webhook's denial: `vkube: `, the field and the key of
// the host admin's config that would allow it.
func checkDenied(t *testing.T, what string, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s was accepted; want a denial starting %q naming %s", what, "vkube: ", strings.Join(wants, " and "))
		return
	}
	msg := err.Error()
	for _, w := range append([]string{"vkube: "}, wants...) {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: the denial should name %q, got: %s", what, w, msg)
		}
	}
}

// noHostService fails if any Service anywhere on the host matches bad, within the few seconds the
// syncer takes to copy an update.
func (a *tenant) noHostService(ctx context.Context, t *testing.T, what string, bad func(corev1.Service) bool) {
	t.Helper()
	var found string
	if within(ctx, 10*time.Second, func() bool {
		list, err := a.hc.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, s := range list.Items {
			if bad(s) {
				found = s.Namespace + "/" + s.Name
				return true
			}
		}
		return false
	}) {
		t.Errorf("host Service %s has the tenant's %s", found, what)
	}
}

// endpointSliceInjection: CVE-2021-25740. A selectorless Service's EndpointSlice names any
// address; on the host it would route the Service's ClusterIP to the node, to the host's own
// Services (the host API) or to the control plane's pod. Only the tenant's own pod stays.
func (a *tenant) endpointSliceInjection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	a.createPod(ctx, t, "default", helloPod("own", nil))
	ownIP := a.runningVirtualPod(ctx, t, "default", "own").Status.PodIP
	hostAPI, err := a.hc.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cpIP string
	for ip := range a.controlPlaneIPs(ctx, t) {
		cpIP = ip
	}
	foreign := map[string]string{
		host.Config().NodeIP:   "the host node's IP",
		hostAPI.Spec.ClusterIP: "the host API's ClusterIP, in the host's service CIDR",
		cpIP:                   "the control-plane pod's IP",
	}

	if _, err := a.vc.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "inject"},
		Spec: corev1.ServiceSpec{Ports: httpPort}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "inject-1", Labels: map[string]string{
			discoveryv1.LabelServiceName: "inject", discoveryv1.LabelManagedBy: "tenant.example.com"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ownIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	for ip := range foreign {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	if _, err := a.vc.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the tenant's EndpointSlice: %v", err)
	}

	var twin *discoveryv1.EndpointSlice
	pctx, pcancel := context.WithTimeout(ctx, 90*time.Second)
	poll(pctx, t, "the host twin of the tenant's EndpointSlice with its own pod "+ownIP, func() bool {
		list, err := a.hc.DiscoveryV1().EndpointSlices(a.hostNS).List(ctx, metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=" + a.name})
		if err != nil {
			return false
		}
		for i, s := range list.Items {
			if recordsVirtual(s.ObjectMeta, "default", "inject-1") && slices.Contains(sliceAddresses(s), ownIP) {
				twin = &list.Items[i]
				return true
			}
		}
		return false
	})
	pcancel()
	got := sliceAddresses(*twin)
	for ip, what := range foreign {
		if slices.Contains(got, ip) {
			t.Errorf("host EndpointSlice %s routes the tenant's Service to %s %s (addresses %v)", twin.Name, what, ip, got)
		}
	}
	missing := func() []string {
		var m []string
		for ip := range foreign {
			if !hasEvent(ctx, a.vc, "default", "inject-1", "SyncError", "not synced to the host: address "+ip) {
				m = append(m, ip)
			}
		}
		sort.Strings(m)
		return m
	}
	if !within(ctx, 30*time.Second, func() bool { return len(missing()) == 0 }) {
		t.Errorf("no SyncError event %q on the virtual EndpointSlice for %v; its events:\n%s",
			"not synced to the host: address <IP> …", missing(), eventsOf(ctx, a.vc, "default", "inject-1"))
	}
}

func sliceAddresses(s discoveryv1.EndpointSlice) []string {
	var out []string
	for _, e := range s.Endpoints {
		out = append(out, e.Addresses...)
	}
	return out
}

// controlPlaneLabelSpoofing: a tenant pod wearing the control plane's labels, the chart's and
// vkube's reserved ones, must not become an endpoint of vkube's own host Services (the virtual
// API, its DNS, the etcd peers' headless Service), and its twin carries none of the reserved
// labels or annotations the tenant wrote.
func (a *tenant) controlPlaneLabelSpoofing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tenantReserved := map[string]string{
		"vkube.io/control-plane": a.name,
		"vkube.io/cluster":       a.name,
		"vkube.io/tenant-made":   "yes",
		"team.vkube.io/role":     "control-plane",
	}
	spoof := helloPod("spoof", nil)
	spoof.Labels = map[string]string{
		"app.kubernetes.io/name":     "vkube",
		"app.kubernetes.io/instance": a.name,
		translate.LabelManagedBy:     "other",
	}
	for k, v := range tenantReserved {
		spoof.Labels[k] = v
	}
	spoof.Annotations = map[string]string{"vkube.io/tenant-made": "yes", "team.vkube.io/role": "control-plane"}
	a.createPod(ctx, t, "default", spoof)
	// Where the attack works, the spoofing pod takes a share of the virtual API's and DNS's
	// traffic: gone before the next attack, so that it runs against a working cluster.
	t.Cleanup(func() { a.deleteVirtualPods(t, "default", "spoof") })
	spoofIP := a.runningVirtualPod(ctx, t, "default", "spoof").Status.PodIP
	cp := a.controlPlaneIPs(ctx, t)

	services := []string{a.name, a.name + "-dns", a.name + "-headless", names.KubeletService(a.name)}
	foreign := func() map[string][]string {
		out := map[string][]string{}
		for _, svc := range services {
			list, err := a.hc.DiscoveryV1().EndpointSlices(a.hostNS).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
			if err != nil {
				continue
			}
			for _, s := range list.Items {
				for _, ip := range sliceAddresses(s) {
					if !cp[ip] {
						out[svc] = append(out[svc], ip)
					}
				}
			}
		}
		return out
	}
	// The host's endpointslice controller adds a matching pod within a second or two.
	if within(ctx, 20*time.Second, func() bool { return len(foreign()) > 0 }) {
		t.Errorf("vkube's host Services have endpoints that are not the control plane's %v (the tenant's pod is %s): %v", keys(cp), spoofIP, foreign())
	}
	for _, svc := range services {
		svc := svc
		if !within(ctx, 30*time.Second, func() bool {
			list, err := a.hc.DiscoveryV1().EndpointSlices(a.hostNS).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
			if err != nil {
				return false
			}
			var all []string
			for _, s := range list.Items {
				all = append(all, sliceAddresses(s)...)
			}
			for ip := range cp {
				if !slices.Contains(all, ip) {
					return false
				}
			}
			return true
		}) {
			t.Errorf("host Service %s lost the control-plane endpoints %v", svc, keys(cp))
		}
	}

	twins := a.hostPodTwins(ctx, "default", "spoof")
	if len(twins) != 1 {
		t.Fatalf("want one host twin of default/spoof, got %d", len(twins))
	}
	tw := twins[0]
	if got := tw.Labels[translate.LabelManagedBy]; got != a.name {
		t.Errorf("the twin's %s is %q, want %q (the tenant wrote %q)", translate.LabelManagedBy, got, a.name, "other")
	}
	for k := range tenantReserved {
		if v, ok := tw.Labels[k]; ok {
			t.Errorf("host twin %s carries the tenant's reserved label %s=%s", tw.Name, k, v)
		}
	}
	for k := range spoof.Annotations {
		if v, ok := tw.Annotations[k]; ok {
			t.Errorf("host twin %s carries the tenant's reserved annotation %s=%s", tw.Name, k, v)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// describePods is the host pods' names and recorded virtual identities, for failure output.
func describePods(pods []corev1.Pod) string {
	var s []string
	for _, p := range pods {
		s = append(s, fmt.Sprintf("%s (virtual %s/%s uid %s, %s)", p.Name, p.Annotations[translate.AnnotationNamespace],
			p.Annotations[translate.AnnotationName], p.Annotations[translate.AnnotationUID], p.Status.Phase))
	}
	return strings.Join(s, "; ")
}

// deleteVirtualPods deletes virtual pods at once and waits for their twins to go, retrying the
// delete through a virtual API that an attack may have made unreliable.
func (a *tenant) deleteVirtualPods(t *testing.T, ns string, names ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, name := range names {
		if !within(ctx, time.Minute, func() bool {
			err := a.vc.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
			return err == nil || apierrors.IsNotFound(err)
		}) {
			t.Logf("could not delete virtual pod %s/%s", ns, name)
		}
		if !within(ctx, time.Minute, func() bool { return len(a.hostPodTwins(ctx, ns, name)) == 0 }) {
			t.Logf("the host twin of virtual pod %s/%s is still there", ns, name)
		}
	}
}
