// Package isolation is vkube's isolation mode (`--isolate`, legacy `isolation.enabled`): the
// ResourceQuota, LimitRange and NetworkPolicies the seeds show in the host namespace, and the Pod
// Security Standard kept on every virtual namespace.
package isolation

import (
	"context"
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/config"
	"vkube.io/vkube/names"
)

// LabelCluster marks the host objects Apply owns; objects without it are never changed.
const LabelCluster = names.LabelCluster

// QuotaName is the host ResourceQuota's name (the seeds' release-name-quota).
func QuotaName(vcluster string) string { return vcluster + "-quota" }

// LimitRangeName is the host LimitRange's name.
func LimitRangeName(vcluster string) string { return vcluster + "-limit-range" }

// WorkloadsPolicyName is the name of the NetworkPolicy that confines the synced pods.
func WorkloadsPolicyName(vcluster string) string { return vcluster + "-workloads" }

// ControlPlanePolicyName is the name of the NetworkPolicy of the control plane's own pods.
func ControlPlanePolicyName(vcluster string) string { return vcluster + "-control-plane" }

// Apply makes the host namespace hold the isolation objects the policies enable and removes the
// ones vkube made for policies now disabled. extraEgress are CIDRs (or IPs) the control plane must
// reach besides the host API and DNS, such as an external datastore's host. It is idempotent;
// call it again when the control plane's endpoints change (they are part of the workloads'
// NetworkPolicy). An object of the same name that vkube does not own is an error, and is left
// as it is; the other objects are still applied.
func Apply(ctx context.Context, host kubernetes.Interface, namespace, vcluster string, p config.Policies, extraEgress []string) error {
	var errs []error
	// The LimitRange goes first: once the quota limits cpu and memory, the host refuses pods
	// that set no requests and limits, and the LimitRange is what fills them in.
	lr, err := limitRange(namespace, vcluster, p.LimitRange)
	if err == nil {
		err = ensure(ctx, host.CoreV1().LimitRanges(namespace), "LimitRange", vcluster, lr, p.LimitRange.Enabled,
			"policies.limitRange.enabled", func(want, live *corev1.LimitRange) bool {
				return equality.Semantic.DeepEqual(want.Spec, live.Spec)
			}, func(want, live *corev1.LimitRange) { live.Spec = want.Spec })
	}
	errs = append(errs, err)

	rq, err := resourceQuota(namespace, vcluster, p.ResourceQuota)
	if err == nil {
		err = ensure(ctx, host.CoreV1().ResourceQuotas(namespace), "ResourceQuota", vcluster, rq, p.ResourceQuota.Enabled,
			"policies.resourceQuota.enabled", func(want, live *corev1.ResourceQuota) bool {
				return equality.Semantic.DeepEqual(want.Spec, live.Spec)
			}, func(want, live *corev1.ResourceQuota) { live.Spec = want.Spec })
	}
	errs = append(errs, err)

	on := p.NetworkPolicy.Enabled
	var local []networkingv1.NetworkPolicyEgressRule
	if on {
		if local, err = controlPlaneEndpoints(ctx, host, namespace, vcluster); err != nil {
			return errors.Join(append(errs, err)...)
		}
	} else {
		// Only the names matter for a deletion.
		extraEgress = nil
	}
	cp, err := controlPlanePolicy(namespace, vcluster, extraEgress)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, np := range []*networkingv1.NetworkPolicy{cp, workloadsPolicy(namespace, vcluster, p.NetworkPolicy.OutgoingConnections, local)} {
		errs = append(errs, ensure(ctx, host.NetworkingV1().NetworkPolicies(namespace), "NetworkPolicy", vcluster, np, on,
			"policies.networkPolicy.enabled", func(want, live *networkingv1.NetworkPolicy) bool {
				return equality.Semantic.DeepEqual(want.Spec, live.Spec)
			}, func(want, live *networkingv1.NetworkPolicy) { live.Spec = want.Spec }))
	}
	return errors.Join(errs...)
}

// client is the part of a typed client-go client ensure uses.
type client[T any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// ensure creates or updates want when on, or deletes it when off, and only ever changes an
// object labelled as this virtual cluster's.
func ensure[T metav1.Object](ctx context.Context, c client[T], kind, vcluster string, want T, on bool, toggle string,
	same func(want, live T) bool, copySpec func(want, live T)) error {
	ns, name := want.GetNamespace(), want.GetName()
	live, err := c.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if !on {
			return nil
		}
		if _, err := c.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating host %s %s/%s: %w", kind, ns, name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading host %s %s/%s: %w", kind, ns, name, err)
	}
	if live.GetLabels()[LabelCluster] != vcluster {
		if !on {
			return nil
		}
		return fmt.Errorf("host %s %s/%s exists and is not vkube's (no label %s=%s): rename or delete it, or set %s to false",
			kind, ns, name, LabelCluster, vcluster, toggle)
	}
	if !on {
		uid := live.GetUID()
		err := c.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting host %s %s/%s: %w", kind, ns, name, err)
		}
		return nil
	}
	labels, relabel := live.GetLabels(), false
	for k, v := range want.GetLabels() {
		if labels[k] != v {
			labels[k], relabel = v, true
		}
	}
	if !relabel && same(want, live) {
		return nil
	}
	live.SetLabels(labels)
	copySpec(want, live)
	if _, err := c.Update(ctx, live, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating host %s %s/%s: %w", kind, ns, name, err)
	}
	return nil
}

// controlPlaneEndpoints are egress rules to the endpoints of this virtual cluster's host Services
// that no pod backs (hostside.EnsureService: vkube outside the host's pods), one rule per
// EndpointSlice, each address to its own ports.
func controlPlaneEndpoints(ctx context.Context, host kubernetes.Interface, namespace, vcluster string) ([]networkingv1.NetworkPolicyEgressRule, error) {
	list, err := host.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: LabelCluster + "=" + vcluster + "," + discoveryv1.LabelManagedBy + "=vkube.io",
	})
	if err != nil {
		return nil, fmt.Errorf("listing the control plane's EndpointSlices in %s: %w", namespace, err)
	}
	slices := list.Items
	sort.Slice(slices, func(i, j int) bool { return slices[i].Name < slices[j].Name })
	var rules []networkingv1.NetworkPolicyEgressRule
	for _, s := range slices {
		var rule networkingv1.NetworkPolicyEgressRule
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				cidr, err := asCIDR(a)
				if err != nil {
					continue
				}
				rule.To = append(rule.To, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
			}
		}
		for _, p := range s.Ports {
			if p.Port == nil {
				continue
			}
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			rule.Ports = append(rule.Ports, ports(proto, int(*p.Port))...)
		}
		if len(rule.To) > 0 && len(rule.Ports) > 0 {
			rules = append(rules, rule)
		}
	}
	return rules, nil
}
