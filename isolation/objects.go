package isolation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/config"
)

// Set is the isolation objects of one virtual cluster; a field is nil when its policy is off.
type Set struct {
	ResourceQuota *corev1.ResourceQuota
	LimitRange    *corev1.LimitRange
	// ControlPlane and Workloads are the two NetworkPolicies (policies.networkPolicy).
	ControlPlane, Workloads *networkingv1.NetworkPolicy
}

// Objects are the isolation objects policies p ask for: what the chart renders (its test holds
// the two equal), what Apply keeps and what Check expects. extraEgress and local are as for
// Apply; the installer passes InstallerEgress and no local rules.
func Objects(namespace, vcluster string, p config.Policies, extraEgress []string, local []networkingv1.NetworkPolicyEgressRule) (Set, error) {
	var s Set
	var err error
	if p.ResourceQuota.Enabled {
		if s.ResourceQuota, err = resourceQuota(namespace, vcluster, p.ResourceQuota); err != nil {
			return Set{}, err
		}
	}
	if p.LimitRange.Enabled {
		if s.LimitRange, err = limitRange(namespace, vcluster, p.LimitRange); err != nil {
			return Set{}, err
		}
	}
	if p.NetworkPolicy.Enabled {
		if s.ControlPlane, err = controlPlanePolicy(namespace, vcluster, extraEgress); err != nil {
			return Set{}, err
		}
		s.Workloads = workloadsPolicy(namespace, vcluster, p.NetworkPolicy.OutgoingConnections, local)
	}
	return s, nil
}

// InstallerPolicies are the policies as the installer (the chart, `vkube create`) writes them: an
// exposed API Service (NodePort or LoadBalancer) takes one node port of its own, which the quota's
// services.nodeports counts on top of what it leaves the tenant (the installer creates the quota
// before the Service, so the quota would refuse it).
func InstallerPolicies(c *config.Config) config.Policies {
	p := c.Policies
	n, ok := p.ResourceQuota.Quota[nodePortsQuota]
	if !ok || c.ControlPlane.Service.Type == "" || c.ControlPlane.Service.Type == string(corev1.ServiceTypeClusterIP) {
		return p
	}
	q, err := strconv.Atoi(n)
	if err != nil {
		return p
	}
	p.ResourceQuota.Quota = maps.Clone(p.ResourceQuota.Quota)
	p.ResourceQuota.Quota[nodePortsQuota] = strconv.Itoa(q + 1)
	return p
}

// nodePortsQuota is the quota on a namespace's Services' node ports.
const nodePortsQuota = "services.nodeports"

// InstallerEgress is the control plane's extra egress as the installer (the chart, `vkube
// create`) writes it: an installer cannot resolve the datastore's host names (nor read a DSN
// file in the pod), so with an external datastore the control plane may reach any address. The
// control plane's pods are vkube's own: no tenant pod is selected by that policy.
func InstallerEgress(c *config.Config) []string {
	bs := c.ControlPlane.BackingStore
	if bs.Database.External.Enabled || bs.Etcd.External.Enabled {
		return []string{"0.0.0.0/0", "::/0"}
	}
	return nil
}

// Check reads the isolation objects want holds from the host (vkube in a pod may not write them:
// the installer does) and reports each one that is missing, not vkube's, or differs from want.
func Check(ctx context.Context, host kubernetes.Interface, want Set) error {
	var errs []error
	if want.LimitRange != nil {
		errs = append(errs, check(ctx, host.CoreV1().LimitRanges(want.LimitRange.Namespace), "LimitRange", want.LimitRange,
			func(live *corev1.LimitRange) bool {
				return equality.Semantic.DeepEqual(want.LimitRange.Spec, live.Spec)
			}))
	}
	if want.ResourceQuota != nil {
		errs = append(errs, check(ctx, host.CoreV1().ResourceQuotas(want.ResourceQuota.Namespace), "ResourceQuota", want.ResourceQuota,
			func(live *corev1.ResourceQuota) bool {
				return equality.Semantic.DeepEqual(want.ResourceQuota.Spec, live.Spec)
			}))
	}
	for _, np := range []*networkingv1.NetworkPolicy{want.ControlPlane, want.Workloads} {
		if np == nil {
			continue
		}
		errs = append(errs, check(ctx, host.NetworkingV1().NetworkPolicies(np.Namespace), "NetworkPolicy", np,
			func(live *networkingv1.NetworkPolicy) bool { return equality.Semantic.DeepEqual(np.Spec, live.Spec) }))
	}
	return errors.Join(errs...)
}

type getter[T any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
}

func check[T metav1.Object](ctx context.Context, c getter[T], kind string, want T, same func(T) bool) error {
	ns, name := want.GetNamespace(), want.GetName()
	vcluster := want.GetLabels()[LabelCluster]
	live, err := c.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("host %s %s/%s is missing: the installer writes it (vkube create --upgrade, or helm upgrade of the chart)", kind, ns, name)
	case err != nil:
		return fmt.Errorf("reading host %s %s/%s: %w", kind, ns, name, err)
	case live.GetLabels()[LabelCluster] != vcluster:
		return fmt.Errorf("host %s %s/%s is not vkube's (no label %s=%s)", kind, ns, name, LabelCluster, vcluster)
	case !same(live):
		return fmt.Errorf("host %s %s/%s differs from the configuration: the installer writes it (vkube create --upgrade, or helm upgrade of the chart)", kind, ns, name)
	}
	return nil
}
