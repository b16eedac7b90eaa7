package integration

import (
	"context"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/config"
	"vkube.io/vkube/isolation"
)

// TestIsolationAgainstAnAPIServer: what isolation.Apply leaves in a host namespace, and the Pod
// Security labels isolation.EnforcePSS keeps, as a real apiserver stores them.
func TestIsolationAgainstAnAPIServer(t *testing.T) {
	v := apiServer(t, "vc-isolation")
	c := v.Client()
	t.Run("creates, updates and removes only its own", func(t *testing.T) { applyOwnsOnlyItsObjects(t, recordingWrites(t, v.RESTConfig())) })
	t.Run("leaves an object it does not own", func(t *testing.T) { applyLeavesTheUsersObject(t, c) })
	t.Run("repairs a drifted object", func(t *testing.T) { applyRepairsDrift(t, c) })
	t.Run("reports host refusals", func(t *testing.T) { applyReportsRefusals(t, c, impersonating(t, v.RESTConfig(), "namespace-admin")) })
	t.Run("keeps every namespace's Pod Security labels", func(t *testing.T) { enforcePSSLabelsEveryNamespace(t, c) })
}

func isolatedPolicies() config.Policies {
	c := config.Default()
	c.Policies.Isolate()
	c.SetDefaults()
	return c.Policies
}

// controlPlaneSlice is what hostside.EnsureService makes for a supervisor outside the host's pods.
func controlPlaneSlice(ns, vcluster, name string, port int32, proto corev1.Protocol) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "vkube.io", isolation.LabelCluster: vcluster}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"172.31.255.1"}}},
		Ports:       []discoveryv1.EndpointPort{{Port: ptr.To(port), Protocol: ptr.To(proto)}},
	}
}

func mustCreate[T any](t *testing.T, create func(context.Context, T, metav1.CreateOptions) (T, error), obj T) {
	t.Helper()
	if _, err := create(t.Context(), obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// writeRecorder is a client that notes every write it sends: the apiserver's own controllers
// also write status, so resourceVersions cannot tell whether a caller wrote.
type writeRecorder struct {
	kubernetes.Interface
	mu     sync.Mutex
	writes []string
}

func recordingWrites(t *testing.T, cfg *rest.Config) *writeRecorder {
	t.Helper()
	r := &writeRecorder{}
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method != http.MethodGet {
				r.mu.Lock()
				r.writes = append(r.writes, req.Method+" "+path.Base(req.URL.Path))
				r.mu.Unlock()
			}
			return next.RoundTrip(req)
		})
	})
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.Interface = c
	return r
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// during returns the writes sent while do ran, sorted.
func (r *writeRecorder) during(do func()) []string {
	r.mu.Lock()
	from := len(r.writes)
	r.mu.Unlock()
	do()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.writes[from:]...)
	sort.Strings(out)
	return out
}

func applyOwnsOnlyItsObjects(t *testing.T, c *writeRecorder) {
	ctx := t.Context()
	const ns, vc = "vc-team-a", "team-a"
	createNamespace(ctx, t, c, ns, nil)
	mustCreate(t, c.NetworkingV1().NetworkPolicies(ns).Create, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "user-allow-web"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}})
	mustCreate(t, c.CoreV1().ResourceQuotas(ns).Create, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "user-quota"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/configmaps": resource.MustParse("500")}}})
	mustCreate(t, c.DiscoveryV1().EndpointSlices(ns).Create, controlPlaneSlice(ns, vc, vc, 6443, corev1.ProtocolTCP))
	apply := func() {
		t.Helper()
		if err := isolation.Apply(ctx, c, ns, vc, isolatedPolicies(), []string{"10.9.8.7"}); err != nil {
			t.Fatal(err)
		}
	}

	apply()
	wl, err := c.NetworkingV1().NetworkPolicies(ns).Get(ctx, isolation.WorkloadsPolicyName(vc), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	local := wl.Spec.Egress[len(wl.Spec.Egress)-1]
	if len(wl.Spec.Egress) != 4 || local.To[0].IPBlock.CIDR != "172.31.255.1/32" || local.Ports[0].Port.IntValue() != 6443 {
		t.Errorf("workloads may not reach the API at 172.31.255.1:6443: %+v", wl.Spec.Egress)
	}
	cp, err := c.NetworkingV1().NetworkPolicies(ns).Get(ctx, isolation.ControlPlanePolicyName(vc), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if last := cp.Spec.Egress[len(cp.Spec.Egress)-1]; last.To[0].IPBlock == nil || last.To[0].IPBlock.CIDR != "10.9.8.7/32" {
		t.Errorf("control plane may not reach its datastore: %+v", cp.Spec.Egress)
	}

	if w := c.during(apply); len(w) != 0 {
		t.Errorf("a second apply wrote %v", w)
	}
	// The DNS Service's endpoint appearing changes one policy.
	mustCreate(t, c.DiscoveryV1().EndpointSlices(ns).Create, controlPlaneSlice(ns, vc, vc+"-dns", 40053, corev1.ProtocolUDP))
	if w := strings.Join(c.during(apply), ", "); w != "PUT "+isolation.WorkloadsPolicyName(vc) {
		t.Errorf("apply after the DNS Service wrote: %s", w)
	}

	// Turned off: vkube's objects go, the user's stay.
	if err := isolation.Apply(ctx, c, ns, vc, config.Policies{}, nil); err != nil {
		t.Fatal(err)
	}
	nps, _ := c.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	rqs, _ := c.CoreV1().ResourceQuotas(ns).List(ctx, metav1.ListOptions{})
	lrs, _ := c.CoreV1().LimitRanges(ns).List(ctx, metav1.ListOptions{})
	if len(nps.Items) != 1 || nps.Items[0].Name != "user-allow-web" || len(rqs.Items) != 1 || rqs.Items[0].Name != "user-quota" || len(lrs.Items) != 0 {
		t.Errorf("after turning isolation off: policies %v, quotas %v, limit ranges %v", nps.Items, rqs.Items, lrs.Items)
	}
}

func applyLeavesTheUsersObject(t *testing.T, c kubernetes.Interface) {
	ctx := t.Context()
	const ns, vc = "vc-team-b", "team-b"
	createNamespace(ctx, t, c, ns, nil)
	mustCreate(t, c.CoreV1().ResourceQuotas(ns).Create, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: isolation.QuotaName(vc)},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("3")}}})
	err := isolation.Apply(ctx, c, ns, vc, isolatedPolicies(), nil)
	if err == nil || !strings.Contains(err.Error(), "ResourceQuota vc-team-b/team-b-quota exists and is not vkube's") ||
		!strings.Contains(err.Error(), "policies.resourceQuota.enabled") {
		t.Fatalf("a quota of the same name that vkube does not own: %v", err)
	}
	got, err := c.CoreV1().ResourceQuotas(ns).Get(ctx, isolation.QuotaName(vc), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if q := got.Spec.Hard[corev1.ResourcePods]; len(got.Spec.Hard) != 1 || q.String() != "3" || got.Labels[isolation.LabelCluster] != "" {
		t.Errorf("the user's quota was changed: %+v", got)
	}
	// The rest is in place regardless.
	if _, err := c.NetworkingV1().NetworkPolicies(ns).Get(ctx, isolation.WorkloadsPolicyName(vc), metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	// Turned off, it is still not vkube's to delete.
	if err := isolation.Apply(ctx, c, ns, vc, config.Policies{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ResourceQuotas(ns).Get(ctx, isolation.QuotaName(vc), metav1.GetOptions{}); err != nil {
		t.Errorf("the user's quota was deleted: %v", err)
	}
}

func applyRepairsDrift(t *testing.T, c kubernetes.Interface) {
	ctx := t.Context()
	const ns, vc = "vc-team-c", "team-c"
	createNamespace(ctx, t, c, ns, nil)
	if err := isolation.Apply(ctx, c, ns, vc, isolatedPolicies(), nil); err != nil {
		t.Fatal(err)
	}
	policies := c.NetworkingV1().NetworkPolicies(ns)
	wl, err := policies.Get(ctx, isolation.WorkloadsPolicyName(vc), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wl.Spec.Egress = append(wl.Spec.Egress, networkingv1.NetworkPolicyEgressRule{})
	if _, err := policies.Update(ctx, wl, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := isolation.Apply(ctx, c, ns, vc, isolatedPolicies(), nil); err != nil {
		t.Fatal(err)
	}
	wl, _ = policies.Get(ctx, isolation.WorkloadsPolicyName(vc), metav1.GetOptions{})
	if len(wl.Spec.Egress) != 3 {
		t.Errorf("an allow-everything rule added by hand survived: %+v", wl.Spec.Egress)
	}
}

// applyReportsRefusals: a host user who may do everything Apply does but create quotas gets the
// rest applied and the refusal named.
func applyReportsRefusals(t *testing.T, admin kubernetes.Interface, tenant kubernetes.Interface) {
	ctx := t.Context()
	const ns, vc = "vc-team-d", "team-d"
	createNamespace(ctx, t, admin, ns, nil)
	all := []string{"*"}
	mustCreate(t, admin.RbacV1().Roles(ns).Create, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "no-quotas"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"limitranges"}, Verbs: all},
		{APIGroups: []string{""}, Resources: []string{"resourcequotas"}, Verbs: []string{"get", "list", "watch", "update", "delete"}},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: all},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list"}},
	}})
	mustCreate(t, admin.RbacV1().RoleBindings(ns).Create, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "no-quotas"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "no-quotas"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "namespace-admin"}}})
	// The authorizer learns of the binding through its informers, a moment after the write.
	pollT(t, time.Minute, "the tenant's Role to take effect", func() bool {
		r, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "namespace-admin", ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "list", Group: "discovery.k8s.io", Resource: "endpointslices"}}},
			metav1.CreateOptions{})
		return err == nil && r.Status.Allowed
	})

	err := isolation.Apply(ctx, tenant, ns, vc, isolatedPolicies(), nil)
	if err == nil || !strings.Contains(err.Error(), "creating host ResourceQuota vc-team-d/team-d-quota") || !strings.Contains(err.Error(), "forbidden") {
		t.Fatalf("refused quota: %v", err)
	}
	if _, err := admin.CoreV1().LimitRanges(ns).Get(ctx, isolation.LimitRangeName(vc), metav1.GetOptions{}); err != nil {
		t.Errorf("the LimitRange was not applied: %v", err)
	}
	if _, err := admin.NetworkingV1().NetworkPolicies(ns).Get(ctx, isolation.WorkloadsPolicyName(vc), metav1.GetOptions{}); err != nil {
		t.Errorf("the workloads' NetworkPolicy was not applied: %v", err)
	}
}
