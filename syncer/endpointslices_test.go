package syncer

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"vkube.io/vkube/syncer/translate"
)

// serviceLister holds virtual Services of namespace team: "external" without a selector, "web"
// with one, "mirror" a replica of a host Service; and default/kubernetes.
func serviceLister(t *testing.T) corelisters.ServiceLister {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, s := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "external", Namespace: "team"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "mirror", Namespace: "team", Annotations: map[string]string{AnnotationReplicatedFrom: "host:x/y"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"}},
	} {
		if err := idx.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	return corelisters.NewServiceLister(idx)
}

func TestEndpointSliceOfASelectorlessService(t *testing.T) {
	v := mustObj(t, `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: external-abcde
  namespace: team
  labels: {kubernetes.io/service-name: external, endpointslice.kubernetes.io/managed-by: endpointslicemirroring-controller.k8s.io, tier: db}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.0.0.5]
  conditions: {ready: true}
  nodeName: node-1
  targetRef: {kind: Pod, name: db-0, namespace: team, uid: virtual-uid}
- addresses: [10.0.0.6]
  targetRef: {kind: Pod, name: db-1}
- addresses: [192.168.1.10]
  targetRef: {kind: Node, name: node-1}
- addresses: [93.184.215.14]
- addresses: [192.168.1.11]
  conditions: {ready: true}
`)
	// 10.0.0.5 and .6 are the tenant's pods; 192.168.1.10 lies in the host admin's endpointCIDRs.
	addrs := &endpointAddresses{policy: addressPolicy{endpointCIDRs: prefixes(t, "192.168.1.10/32")},
		facts: staticFacts([]string{"10.0.0.5", "10.0.0.6"}, nil)}
	h, skip, err := endpointSlices{tctx: tctx, services: serviceLister(t), addresses: addrs}.toHost(context.Background(), v)
	if err != nil || skip {
		t.Fatal(err, skip)
	}
	if h.GetName() != "external-abcde-x-team-x-vc" || h.GetNamespace() != "host" {
		t.Errorf("host slice %s/%s", h.GetNamespace(), h.GetName())
	}
	l := h.GetLabels()
	if l[discoveryv1.LabelServiceName] != "external-x-team-x-vc" || l[discoveryv1.LabelManagedBy] != endpointSliceSyncer {
		t.Errorf("labels %v: the slice must belong to the host Service and to vkube, not the host's controllers", l)
	}
	if l[translate.LabelManagedBy] != "vc" || l[translate.LabelNamespace] != "team" || l["tier"] != "db" {
		t.Errorf("marker and user labels %v", l)
	}
	if h.Object["addressType"] != "IPv4" || !equalJSON(h.Object["ports"], v.Object["ports"]) {
		t.Errorf("body %v", h.Object)
	}
	endpoints, _, _ := unstructured.NestedSlice(h.Object, "endpoints")
	if len(endpoints) != 4 {
		t.Fatalf("endpoints %v: the internal 192.168.1.11, neither the tenant's pod nor listed, must be dropped", endpoints)
	}
	want := []map[string]any{
		{"kind": "Pod", "namespace": "host", "name": "db-0-x-team-x-vc"},
		{"kind": "Pod", "namespace": "host", "name": "db-1-x-team-x-vc"},
		nil, // a Node of the virtual cluster means nothing on the host
		nil,
	}
	for i, e := range endpoints {
		ref, _, _ := unstructured.NestedMap(e.(map[string]any), "targetRef")
		if !equalJSON(ref, want[i]) {
			t.Errorf("endpoint %d targetRef %v, want %v", i, ref, want[i])
		}
	}
	if n, _, _ := unstructured.NestedString(endpoints[0].(map[string]any), "nodeName"); n != "node-1" {
		t.Errorf("nodeName %q", n)
	}
	if first := v.Object["endpoints"].([]any)[0].(map[string]any)["targetRef"].(map[string]any)["name"]; first != "db-0" {
		t.Errorf("the virtual slice was changed: targetRef name %v", first)
	}
}

func TestEndpointSlicesLeftToTheHost(t *testing.T) {
	r := endpointSlices{tctx: tctx, services: serviceLister(t), addresses: &endpointAddresses{facts: staticFacts(nil, nil)}}
	for what, y := range map[string]string{
		"no Service label":    "metadata: {name: s, namespace: team}\n",
		"Service missing":     "metadata: {name: s, namespace: team, labels: {kubernetes.io/service-name: gone}}\n",
		"Service selects":     "metadata: {name: s, namespace: team, labels: {kubernetes.io/service-name: web}}\n",
		"replicated Service":  "metadata: {name: s, namespace: team, labels: {kubernetes.io/service-name: mirror}}\n",
		"virtual API Service": "metadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}\n",
		"endpointslice controller's": "metadata: {name: s, namespace: team, labels: {kubernetes.io/service-name: external, " +
			"endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}}\n",
	} {
		if _, skip, err := r.toHost(context.Background(), mustObj(t, y)); err != nil || !skip {
			t.Errorf("%s: synced (%v)", what, err)
		}
	}
	user := "metadata: {name: s, namespace: team, labels: {kubernetes.io/service-name: external, endpointslice.kubernetes.io/managed-by: me}}\naddressType: IPv4\n"
	if _, skip, err := r.toHost(context.Background(), mustObj(t, user)); err != nil || skip {
		t.Errorf("a tenant's own slice of a selectorless Service is not synced (%v)", err)
	}
}
