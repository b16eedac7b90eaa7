package isolation

import (
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/config"
	"vkube.io/vkube/names"
	"vkube.io/vkube/syncer/translate"
)

// workloadSelector selects the host pods the syncer made for this virtual cluster.
func workloadSelector(vcluster string) metav1.LabelSelector {
	return metav1.LabelSelector{MatchLabels: map[string]string{translate.LabelManagedBy: vcluster}}
}

// controlPlaneSelector selects the virtual cluster's own pods, by the label the chart gives only
// them (names.LabelControlPlane): a tenant cannot set it, since the syncer strips vkube.io/
// keys from what tenants write. A synced workload also always carries vkube.io/managed-by, which
// the selector excludes besides. When vkube runs outside the host's pods it selects nothing.
func controlPlaneSelector(vcluster string) metav1.LabelSelector {
	return metav1.LabelSelector{
		MatchLabels:      map[string]string{names.LabelControlPlane: vcluster},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: translate.LabelManagedBy, Operator: metav1.LabelSelectorOpDoesNotExist}},
	}
}

// workloadsPolicy is the seeds' <name>-workloads: workloads may reach the control plane, DNS,
// each other, and outgoing (by default: public addresses only). local are the endpoints of the
// control plane when it is not a pod (vkube started on a machine: API and DNS at NODEIP:port);
// a policy sees traffic after the Service's translation, so they need rules of their own.
func workloadsPolicy(namespace, vcluster string, out config.IPBlock, local []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	cp := controlPlaneSelector(vcluster)
	peers := []networkingv1.NetworkPolicyPeer{{PodSelector: ptr.To(workloadSelector(vcluster))}}
	if out.CIDR != "" {
		peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: out.CIDR, Except: append([]string(nil), out.Except...)}})
	}
	egress := []networkingv1.NetworkPolicyEgressRule{
		{Ports: ports(corev1.ProtocolTCP, 443, 8443), To: []networkingv1.NetworkPolicyPeer{{PodSelector: &cp}}},
		{Ports: append(ports(corev1.ProtocolUDP, 53), ports(corev1.ProtocolTCP, 53)...)},
		{To: peers},
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: meta(namespace, vcluster, WorkloadsPolicyName(vcluster)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: workloadSelector(vcluster),
			Egress:      append(egress, local...),
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		},
	}
}

// controlPlanePolicy is the seeds' <name>-control-plane: the control plane may reach the host
// API (443, 8443, 6443), the namespace's pods and the host's DNS, plus extraEgress (the host of
// an external datastore), given as CIDRs or single IPs.
func controlPlanePolicy(namespace, vcluster string, extraEgress []string) (*networkingv1.NetworkPolicy, error) {
	egress := []networkingv1.NetworkPolicyEgressRule{
		{Ports: ports(corev1.ProtocolTCP, 443, 8443, 6443)},
		{To: []networkingv1.NetworkPolicyPeer{
			{PodSelector: &metav1.LabelSelector{}},
			{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "kube-system"}},
				PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
			},
		}},
	}
	var extra []networkingv1.NetworkPolicyPeer
	for _, c := range extraEgress {
		cidr, err := asCIDR(c)
		if err != nil {
			return nil, err
		}
		extra = append(extra, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
	}
	if len(extra) > 0 {
		egress = append(egress, networkingv1.NetworkPolicyEgressRule{To: extra})
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: meta(namespace, vcluster, ControlPlanePolicyName(vcluster)),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: controlPlaneSelector(vcluster),
			Egress:      egress,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		},
	}, nil
}

// asCIDR accepts a CIDR or a single address (which becomes a /32 or /128).
func asCIDR(s string) (string, error) {
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n.String(), nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return "", fmt.Errorf("control-plane egress %q is neither a CIDR nor an IP address", s)
	}
	if ip.To4() != nil {
		return ip.String() + "/32", nil
	}
	return ip.String() + "/128", nil
}

// ports lists TCP or UDP ports; the protocol is always written, as the apiserver would default
// it, so the stored policy compares equal to the built one.
func ports(proto corev1.Protocol, nums ...int) []networkingv1.NetworkPolicyPort {
	out := make([]networkingv1.NetworkPolicyPort, 0, len(nums))
	for _, n := range nums {
		out = append(out, networkingv1.NetworkPolicyPort{Protocol: ptr.To(proto), Port: ptr.To(intstr.FromInt32(int32(n)))})
	}
	return out
}
