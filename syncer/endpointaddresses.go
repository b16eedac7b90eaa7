package syncer

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

// Which endpoint addresses a tenant may give a host Service (the CVE-2021-25740 pattern). A
// selectorless Service's endpoints, and a mapServices mirror's, are whatever the tenant writes;
// on the host they make kube-proxy, and any Ingress or load balancer that follows the Service,
// send traffic there with the host's network position. So an address reaches the host only when
// it is the tenant's: one of this virtual cluster's own pods, a public address, or an address the
// host admin lists in policies.hostAccess.endpointCIDRs. A namespaced vkube cannot read the host's
// pod CIDR, so every internal address that is not one of its own pods counts as the host's.
// Whatever is allowed, an address in the host's service CIDR (another Service's virtual IP) or
// of a host node (its kubelet, its host-network pods) never is.

// keyEndpointCIDRs is the host admin's key that lets endpoints point at internal addresses.
const keyEndpointCIDRs = "policies.hostAccess.endpointCIDRs"

// internalRanges are the addresses that are the host's own unless one of the virtual cluster's
// pods has them or the host admin lists them.
var internalRanges = mustPrefixes(
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", // RFC 1918
	"100.64.0.0/10",  // shared address space (carrier-grade NAT, many pod networks)
	"127.0.0.0/8",    // loopback
	"169.254.0.0/16", // link-local (cloud metadata services)
	"224.0.0.0/4",    // multicast
	"0.0.0.0/8",      // "this network", the unspecified address among it
	"::1/128", "::/128", "fc00::/7", "fe80::/10", "ff00::/8",
	"64:ff9b::/96", // NAT64: an IPv4 address, possibly internal, behind an IPv6 one
)

func mustPrefixes(cidrs ...string) []netip.Prefix {
	p, err := parsePrefixes(cidrs)
	if err != nil {
		panic(err)
	}
	return p
}

// addressPolicy is what the host admin and the host decide about endpoint addresses.
type addressPolicy struct {
	// serviceCIDRs is the host's service range (two for dual-stack).
	serviceCIDRs []netip.Prefix
	// endpointCIDRs is policies.hostAccess.endpointCIDRs.
	endpointCIDRs []netip.Prefix
}

// addressFacts is what the syncer sees of an address on the host.
type addressFacts struct {
	// ownPod: a running or pending host pod of this virtual cluster has it.
	ownPod bool
	// node: a host node has it (the hostIP of a synced pod or of vkube's own pod, or a node's
	// address when real nodes are synced).
	node bool
}

// refuseAddress is why addr may not be an endpoint address on the host, "" when it may. facts
// tells what the host knows of the address.
func (p addressPolicy) refuseAddress(addr string, facts func(netip.Addr) addressFacts) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return fmt.Sprintf("address %s is not an IP address (only IP endpoints are synced)", addr)
	}
	a = a.Unmap()
	if c := inAny(a, p.serviceCIDRs); c != nil {
		return fmt.Sprintf("address %s is in the host's service CIDR %s: an endpoint may not be another Service's virtual IP", addr, c)
	}
	f := facts(a)
	if f.node {
		return fmt.Sprintf("address %s is a host node's address", addr)
	}
	if f.ownPod || inAny(a, p.endpointCIDRs) != nil {
		return ""
	}
	if c := inAny(a, internalRanges); c != nil {
		return fmt.Sprintf("address %s is in the internal range %s and is neither a pod of this virtual cluster nor in %s", addr, c, keyEndpointCIDRs)
	}
	return ""
}

// endpointAddresses decides endpoint addresses with what the syncer's informers know.
type endpointAddresses struct {
	policy addressPolicy
	facts  func(netip.Addr) addressFacts
}

// refusal is why addr may not reach the host, "" when it may.
func (e *endpointAddresses) refusal(addr string) string {
	return e.policy.refuseAddress(addr, e.facts)
}

// keep filters addrs; dropped holds why each refused one was.
func (e *endpointAddresses) keep(addrs []string) (kept, dropped []string) {
	for _, a := range addrs {
		if why := e.refusal(a); why != "" {
			dropped = append(dropped, why)
			continue
		}
		kept = append(kept, a)
	}
	return kept, dropped
}

// keepInSlice filters the endpoints of an unstructured EndpointSlice in place: refused addresses
// are removed, and an endpoint left without one (the API wants at least one) with them.
func (e *endpointAddresses) keepInSlice(slice *unstructured.Unstructured) (dropped []string) {
	endpoints, _ := slice.Object["endpoints"].([]any)
	if endpoints == nil {
		return nil
	}
	out := make([]any, 0, len(endpoints))
	for _, item := range endpoints {
		endpoint, ok := item.(map[string]any)
		if !ok {
			continue
		}
		raw, _ := endpoint["addresses"].([]any)
		addrs := make([]string, 0, len(raw))
		for _, a := range raw {
			if s, ok := a.(string); ok {
				addrs = append(addrs, s)
			}
		}
		kept, why := e.keep(addrs)
		dropped = append(dropped, why...)
		if len(kept) == 0 {
			continue
		}
		list := make([]any, len(kept))
		for i, a := range kept {
			list[i] = a
		}
		endpoint["addresses"] = list
		out = append(out, endpoint)
	}
	slice.Object["endpoints"] = out
	return dropped
}

// Indexes over the informers' caches that answer addressFacts without a scan.
const (
	// indexPodIP: the IPs of a host pod that still holds them (not finished).
	indexPodIP = "vkube.io/pod-ip"
	// indexHostIP: the node IPs of a host pod, or a node's addresses.
	indexHostIP = "vkube.io/host-ip"
	// indexEndpointAddress: the addresses of a virtual EndpointSlice the syncer may sync.
	indexEndpointAddress = "vkube.io/endpoint-address"
)

// hostAddresses answers addressFacts from the host pods of this virtual cluster (the pod
// controller's informer), the host nodes when real nodes are synced, and the node vkube runs on.
type hostAddresses struct {
	pods  cache.Indexer
	nodes cache.Indexer // nil without real nodes
	own   map[netip.Addr]bool
}

func (h *hostAddresses) facts(a netip.Addr) addressFacts {
	key := a.String()
	has := func(i cache.Indexer, index string) bool {
		if i == nil {
			return false
		}
		objs, err := i.ByIndex(index, key)
		return err == nil && len(objs) > 0
	}
	return addressFacts{
		ownPod: has(h.pods, indexPodIP),
		node:   h.own[a] || has(h.pods, indexHostIP) || has(h.nodes, indexHostIP),
	}
}

// canonicalIPs parses ips into the form the indexes use, skipping what is not an IP.
func canonicalIPs(ips ...string) []string {
	out := make([]string, 0, len(ips))
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a.Unmap().String())
		}
	}
	return out
}

// hostPodIndexers index host pods by the IPs they hold and by their node's IPs.
func hostPodIndexers() cache.Indexers {
	return cache.Indexers{
		indexPodIP: func(obj any) ([]string, error) {
			p, ok := obj.(*corev1.Pod)
			if !ok {
				return nil, nil
			}
			return podIPs(p), nil
		},
		indexHostIP: func(obj any) ([]string, error) {
			p, ok := obj.(*corev1.Pod)
			if !ok {
				return nil, nil
			}
			return podHostIPs(p), nil
		},
	}
}

// podIPs are the IPs a pod holds: none once it finished (its IP may then be another's).
func podIPs(p *corev1.Pod) []string {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return nil
	}
	ips := []string{p.Status.PodIP}
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	return canonicalIPs(ips...)
}

func podHostIPs(p *corev1.Pod) []string {
	ips := []string{p.Status.HostIP}
	for _, ip := range p.Status.HostIPs {
		ips = append(ips, ip.IP)
	}
	return canonicalIPs(ips...)
}

// nodeIndexers index host nodes by their addresses.
func nodeIndexers() cache.Indexers {
	return cache.Indexers{indexHostIP: func(obj any) ([]string, error) {
		n, ok := obj.(*corev1.Node)
		if !ok {
			return nil, nil
		}
		ips := make([]string, 0, len(n.Status.Addresses))
		for _, a := range n.Status.Addresses {
			ips = append(ips, a.Address)
		}
		return canonicalIPs(ips...), nil
	}}
}

// sliceAddressIndexers index virtual EndpointSlices by their addresses, those the syncer syncs
// only (the endpointslice controller's are the host's business), so that a host pod that gains
// or loses an IP re-evaluates the slices naming it.
func sliceAddressIndexers() cache.Indexers {
	return cache.Indexers{indexEndpointAddress: func(obj any) ([]string, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok || u.GetLabels()[discoveryv1.LabelManagedBy] == endpointSliceController {
			return nil, nil
		}
		var ips []string
		endpoints, _ := u.Object["endpoints"].([]any)
		for _, item := range endpoints {
			endpoint, _ := item.(map[string]any)
			raw, _ := endpoint["addresses"].([]any)
			for _, a := range raw {
				if s, ok := a.(string); ok {
					ips = append(ips, s)
				}
			}
		}
		return canonicalIPs(ips...), nil
	}}
}
