package syncer

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

// staticFacts: ownPods are this virtual cluster's pods, nodes the host's nodes.
func staticFacts(ownPods, nodes []string) func(netip.Addr) addressFacts {
	set := func(ips []string) map[netip.Addr]bool {
		m := map[netip.Addr]bool{}
		for _, ip := range ips {
			m[netip.MustParseAddr(ip)] = true
		}
		return m
	}
	pods, ns := set(ownPods), set(nodes)
	return func(a netip.Addr) addressFacts { return addressFacts{ownPod: pods[a], node: ns[a]} }
}

func TestRefuseAddress(t *testing.T) {
	facts := staticFacts([]string{"10.244.1.5", "fd00:10:244::5", "172.18.0.3"}, []string{"172.18.0.3", "203.0.113.50"})
	deflt := addressPolicy{serviceCIDRs: prefixes(t, "10.96.0.0/12", "fd00:10:96::/112")}
	listed := deflt
	listed.endpointCIDRs = prefixes(t, "192.168.50.0/24", "10.96.0.0/16", "172.18.0.0/16")
	for _, tc := range []struct {
		addr   string
		policy addressPolicy
		want   string
	}{
		// The tenant's own pods, and public addresses, pass.
		{"10.244.1.5", deflt, ""},
		{"fd00:10:244::5", deflt, ""},
		{"93.184.215.14", deflt, ""},
		{"2606:4700::1111", deflt, ""},
		// The host's Services, nodes and internal addresses do not.
		{"10.96.0.1", deflt, "address 10.96.0.1 is in the host's service CIDR 10.96.0.0/12: an endpoint may not be another Service's virtual IP"},
		{"fd00:10:96::a", deflt, "address fd00:10:96::a is in the host's service CIDR fd00:10:96::/112: an endpoint may not be another Service's virtual IP"},
		{"::ffff:10.96.0.10", deflt, "address ::ffff:10.96.0.10 is in the host's service CIDR 10.96.0.0/12: an endpoint may not be another Service's virtual IP"},
		{"172.18.0.3", deflt, "address 172.18.0.3 is a host node's address"},
		{"203.0.113.50", deflt, "address 203.0.113.50 is a host node's address"},
		{"10.244.2.9", deflt, "address 10.244.2.9 is in the internal range 10.0.0.0/8 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"192.168.50.4", deflt, "address 192.168.50.4 is in the internal range 192.168.0.0/16 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"100.64.0.7", deflt, "address 100.64.0.7 is in the internal range 100.64.0.0/10 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"127.0.0.1", deflt, "address 127.0.0.1 is in the internal range 127.0.0.0/8 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"169.254.169.254", deflt, "address 169.254.169.254 is in the internal range 169.254.0.0/16 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"224.0.0.251", deflt, "address 224.0.0.251 is in the internal range 224.0.0.0/4 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"0.0.0.0", deflt, "address 0.0.0.0 is in the internal range 0.0.0.0/8 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"::1", deflt, "address ::1 is in the internal range ::1/128 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"::", deflt, "address :: is in the internal range ::/128 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"fd12::1", deflt, "address fd12::1 is in the internal range fc00::/7 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"fe80::1", deflt, "address fe80::1 is in the internal range fe80::/10 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"ff02::1", deflt, "address ff02::1 is in the internal range ff00::/8 and is neither a pod of this virtual cluster nor in policies.hostAccess.endpointCIDRs"},
		{"db.example.com", deflt, "address db.example.com is not an IP address (only IP endpoints are synced)"},
		{"fe80::1%eth0", deflt, "address fe80::1%eth0 is not an IP address (only IP endpoints are synced)"},
		// The host admin's endpointCIDRs let internal addresses through, never a Service's
		// virtual IP nor a node.
		{"192.168.50.4", listed, ""},
		{"10.96.0.1", listed, "address 10.96.0.1 is in the host's service CIDR 10.96.0.0/12: an endpoint may not be another Service's virtual IP"},
		{"172.18.0.3", listed, "address 172.18.0.3 is a host node's address"},
		{"172.18.0.4", listed, ""},
	} {
		if got := tc.policy.refuseAddress(tc.addr, facts); got != tc.want {
			t.Errorf("%s (endpointCIDRs %v):\n got %q\nwant %q", tc.addr, tc.policy.endpointCIDRs, got, tc.want)
		}
	}
}

func TestKeepInSliceDropsEndpointsLeftWithoutAddresses(t *testing.T) {
	e := &endpointAddresses{policy: addressPolicy{serviceCIDRs: prefixes(t, "10.96.0.0/12")}, facts: staticFacts([]string{"10.244.0.5"}, nil)}
	s := mustObj(t, `endpoints:
- addresses: [10.244.0.5]
  conditions: {ready: true}
- addresses: [10.96.0.1]
- addresses: [93.184.215.14, 10.0.0.1]
`)
	dropped := e.keepInSlice(s)
	if len(dropped) != 2 {
		t.Errorf("dropped %v", dropped)
	}
	want := []any{
		map[string]any{"addresses": []any{"10.244.0.5"}, "conditions": map[string]any{"ready": true}},
		map[string]any{"addresses": []any{"93.184.215.14"}},
	}
	if !equalJSON(s.Object["endpoints"], want) {
		t.Errorf("endpoints %v, want %v", s.Object["endpoints"], want)
	}
}

// The indexes answer the facts: a finished pod's IP is no longer its own (another pod may have
// it), while its node stays a node.
func TestHostAddressesFromTheIndexes(t *testing.T) {
	pods := cache.NewIndexer(cache.MetaNamespaceKeyFunc, hostPodIndexers())
	nodes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, nodeIndexers())
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "running", Namespace: "host"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
			PodIP: "10.244.0.5", PodIPs: []corev1.PodIP{{IP: "10.244.0.5"}, {IP: "fd00::5"}}, HostIP: "172.18.0.2", HostIPs: []corev1.HostIP{{IP: "172.18.0.2"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "done", Namespace: "host"}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded,
			PodIP: "10.244.0.6", HostIP: "172.18.0.4"}},
	} {
		if err := pods.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := nodes.Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "172.18.0.9"}, {Type: corev1.NodeExternalIP, Address: "198.51.100.9"}, {Type: corev1.NodeHostName, Address: "n"}}}}); err != nil {
		t.Fatal(err)
	}
	h := &hostAddresses{pods: pods, nodes: nodes, own: map[netip.Addr]bool{netip.MustParseAddr("172.18.0.7"): true}}
	for ip, want := range map[string]addressFacts{
		"10.244.0.5":   {ownPod: true},
		"fd00::5":      {ownPod: true},
		"10.244.0.6":   {},
		"172.18.0.2":   {node: true},
		"172.18.0.4":   {node: true},
		"172.18.0.7":   {node: true},
		"172.18.0.9":   {node: true},
		"198.51.100.9": {node: true},
		"10.244.0.7":   {},
	} {
		if got := h.facts(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %+v, want %+v", ip, got, want)
		}
	}
}

func TestSliceAddressIndexSkipsTheHostControllersSlices(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, sliceAddressIndexers())
	for _, y := range []string{
		"metadata: {name: own, namespace: team, labels: {endpointslice.kubernetes.io/managed-by: me}}\nendpoints: [{addresses: [10.244.0.5]}]\n",
		"metadata: {name: ctrl, namespace: team, labels: {endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}}\nendpoints: [{addresses: [10.244.0.5]}]\n",
	} {
		if err := idx.Add(mustObj(t, y)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := idx.ByIndex(indexEndpointAddress, "10.244.0.5")
	if err != nil || len(got) != 1 || got[0].(*unstructured.Unstructured).GetName() != "own" {
		t.Errorf("slices naming 10.244.0.5: %v %v", got, err)
	}
}
