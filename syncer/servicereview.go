package syncer

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// What of a virtual Service reaches its host twin. A host Service acts on every node of
// the host (kube-proxy programs it everywhere), so a field that names addresses can take traffic
// that belongs to others (CVE-2020-8554). The tenant is cluster-admin in its virtual cluster; only
// the host admin's config (policies.hostAccess) widens what its Services may claim on the host.
// The webhook refuses a Service that asks for more at once; the syncer, for one that got past
// the webhook (created while it was away), syncs it without the field and records SyncError.
//
//	field                          on the host        why
//	selector                       rewritten          vkube's markers are added, so it selects only this
//	                                                  virtual namespace's synced pods
//	clusterIP, clusterIPs          host allocates     (or the one asked for: it must be free in the host's
//	                                                  range, the allocator refuses one in use, so nothing
//	                                                  is captured)
//	ipFamilies, ipFamilyPolicy     as written         which families the Service's own IPs come from
//	ports (port, targetPort,       as written         how its own virtual IP reaches its own endpoints
//	  protocol, appProtocol, name)
//	ports[].nodePort               as written         the host's allocator refuses a port in use, as for
//	                                                  any user of the host namespace; the host's quota
//	                                                  (services.nodeports) and admission govern them
//	type                           as written         NodePort and LoadBalancer as nodePort above: the
//	                                                  host namespace's quota and admission apply to it
//	externalIPs                    only inside        kube-proxy on every node takes traffic to these IPs,
//	                               externalIPCIDRs    whoever they belong to (CVE-2020-8554)
//	loadBalancerIP                 only inside        a load-balancer implementation that honours it gives
//	                               externalIPCIDRs    the Service that address, whoever else uses it
//	healthCheckNodePort            host allocates     a port chosen by the tenant is one the host did not
//	                                                  give out; the webhook copies the host's choice back
//	loadBalancerSourceRanges       as written         narrows who may reach the load balancer
//	externalTrafficPolicy          as written         how traffic to its own endpoints is routed (Local
//	                                                  keeps the client IP, and needs a health check port,
//	                                                  which the host allocates)
//	internalTrafficPolicy          as written         narrows to node-local endpoints
//	sessionAffinity(Config)        as written         stickiness among its own endpoints (the API bounds
//	                                                  the timeout)
//	loadBalancerClass              as written         picks one of the implementations the host admin
//	                                                  installed, as any user of the namespace may
//	allocateLoadBalancerNodePorts  as written         can only turn node ports off
//	externalName                   as written         a DNS alias under the twin's own name: it redirects
//	                                                  nobody else's lookups, and a client that follows it
//	                                                  connects from its own network position (an Ingress
//	                                                  controller that proxies to ExternalName backends is
//	                                                  the host admin's to configure; ingress sync is off
//	                                                  by default)
//	publishNotReadyAddresses       as written         about its own endpoints only
//	trafficDistribution            as written         a preference among its own endpoints
//	status                         never written      the twin's status is the host's; it flows back only
//	annotations in                 only inside        the loadBalancerIP of MetalLB, kube-vip, Cilium,
//	  loadBalancerIPAnnotations    externalIPCIDRs    Azure, AWS and GKE under another name, and
//	                                                  external-dns's names in the host's zone
//	other annotations, labels      as written         (vkube's reserved prefix aside)
//
// Endpoints are the other way to point a Service somewhere: see endpointaddresses.go.

// loadBalancerIPAnnotations are the annotations by which common load-balancer implementations
// (and external-dns) let a Service ask for an address, as spec.loadBalancerIP does: a
// comma-separated list. Those that name an address by something other than an IP (a cloud's
// reserved address or allocation, a DNS name in the host's zone) can never lie inside
// externalIPCIDRs, so a tenant's Service never claims one.
var loadBalancerIPAnnotations = []string{
	"metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs",
	"kube-vip.io/loadbalancerIPs",
	"lbipam.cilium.io/ips", "io.cilium/lb-ipam-ips",
	"service.beta.kubernetes.io/azure-load-balancer-ipv4", "service.beta.kubernetes.io/azure-load-balancer-ipv6",
	"service.beta.kubernetes.io/azure-pip-name", "service.beta.kubernetes.io/azure-pip-name-ipv6",
	"service.beta.kubernetes.io/aws-load-balancer-eip-allocations",
	"service.beta.kubernetes.io/aws-load-balancer-private-ipv4-addresses",
	"networking.gke.io/load-balancer-ip-addresses",
	"external-dns.alpha.kubernetes.io/hostname", "external-dns.alpha.kubernetes.io/internal-hostname",
}

// annotationIPs splits an address annotation's value.
func annotationIPs(value string) []string {
	var out []string
	for _, ip := range strings.Split(value, ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			out = append(out, ip)
		}
	}
	return out
}

// keyExternalIPCIDRs is the host admin's key that widens spec.externalIPs and loadBalancerIP.
const keyExternalIPCIDRs = "policies.hostAccess.externalIPCIDRs"

// reviewService lists the fields of svc that its host twin may not have: the addresses it claims
// outside allowed (the host admin's externalIPCIDRs). Both the webhook (which refuses) and the
// syncer (which drops the field) use it.
func reviewService(svc *corev1.Service, allowed []netip.Prefix) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	// BadValue holds the address (a Forbidden error does not print it; newClaims compares it).
	for i, ip := range svc.Spec.ExternalIPs {
		if !claimable(ip, allowed) {
			e := field.Forbidden(spec.Child("externalIPs").Index(i), outsideExternalIPCIDRs(ip))
			e.BadValue = ip
			errs = append(errs, e)
		}
	}
	if ip := svc.Spec.LoadBalancerIP; ip != "" && !claimable(ip, allowed) {
		e := field.Forbidden(spec.Child("loadBalancerIP"), outsideExternalIPCIDRs(ip))
		e.BadValue = ip
		errs = append(errs, e)
	}
	annotations := field.NewPath("metadata", "annotations")
	for _, key := range loadBalancerIPAnnotations {
		for _, ip := range annotationIPs(svc.Annotations[key]) {
			if !claimable(ip, allowed) {
				e := field.Forbidden(annotations.Key(key), outsideExternalIPCIDRs(ip))
				e.BadValue = ip
				errs = append(errs, e)
			}
		}
	}
	return errs
}

// newClaims are the errors of an update's review (errs) about addresses the old object did not
// already claim (old, its own review). An update that adds none is let through: a Service made
// before the policy (or while the webhook was away) must still take its finalizers' removal and
// its owner's other edits; the syncer keeps what it claims off the host either way.
func newClaims(errs, old field.ErrorList) field.ErrorList {
	had := map[any]bool{}
	for _, e := range old {
		had[e.BadValue] = true
	}
	var out field.ErrorList
	for _, e := range errs {
		if !had[e.BadValue] {
			out = append(out, e)
		}
	}
	return out
}

// hostServiceSpec makes spec what the host may have: the addresses it may not claim removed, and
// what the host allocates cleared. It agrees with reviewService.
func hostServiceSpec(spec *corev1.ServiceSpec, allowed []netip.Prefix) {
	var ips []string
	for _, ip := range spec.ExternalIPs {
		if claimable(ip, allowed) {
			ips = append(ips, ip)
		}
	}
	spec.ExternalIPs = ips
	if spec.LoadBalancerIP != "" && !claimable(spec.LoadBalancerIP, allowed) {
		spec.LoadBalancerIP = ""
	}
	spec.HealthCheckNodePort = 0
}

// hostServiceAnnotations removes from a host twin's annotations the addresses it may not claim
// (an annotation left with none goes).
func hostServiceAnnotations(ann map[string]string, allowed []netip.Prefix) {
	for _, key := range loadBalancerIPAnnotations {
		value, ok := ann[key]
		if !ok {
			continue
		}
		var ips []string
		for _, ip := range annotationIPs(value) {
			if claimable(ip, allowed) {
				ips = append(ips, ip)
			}
		}
		if len(ips) == 0 {
			delete(ann, key)
			continue
		}
		ann[key] = strings.Join(ips, ",")
	}
}

// claimable: ip lies inside one of allowed.
func claimable(ip string, allowed []netip.Prefix) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	return inAny(a.Unmap(), allowed) != nil
}

// outsideExternalIPCIDRs says why ip is refused. It names the host admin's key but not its value:
// what the host admin configured is not the tenant's to read.
func outsideExternalIPCIDRs(ip string) string {
	return fmt.Sprintf("%s is not in %s, the addresses the host admin lets a Service claim on the host", ip, keyExternalIPCIDRs)
}

// reviewMessage is the field errors as one line: "FIELD: Forbidden: WHY; FIELD: …".
func reviewMessage(errs field.ErrorList) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// inAny is the first of prefixes that holds a, nil when none does.
func inAny(a netip.Addr, prefixes []netip.Prefix) *netip.Prefix {
	for i := range prefixes {
		if prefixes[i].Contains(a) {
			return &prefixes[i]
		}
	}
	return nil
}

// parsePrefixes reads CIDRs (config values, validated before; an error names the bad one).
func parsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("CIDR %q: %w", c, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
