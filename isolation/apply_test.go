package isolation

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/config"
)

const ns = "vc-team-a"

// apiSlice is what hostside.EnsureService makes for a supervisor outside the host's pods.
func apiSlice(name string, port int32, proto corev1.Protocol) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "vkube.io", LabelCluster: "team-a"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"172.31.255.1"}}},
		Ports:       []discoveryv1.EndpointPort{{Port: ptr.To(port), Protocol: ptr.To(proto)}},
	}
}

func writes(c *fake.Clientset) []string {
	var out []string
	for _, a := range c.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			out = append(out, v+" "+a.GetResource().Resource)
		}
	}
	return out
}

func TestApplyCreatesUpdatesAndRemovesOnlyItsOwn(t *testing.T) {
	ctx := context.Background()
	userPolicy := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "user-allow-web", Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	userQuota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "user-quota", Namespace: ns},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/configmaps": resource.MustParse("500")}}}
	c := fake.NewClientset(userPolicy, userQuota, apiSlice("team-a", 6443, corev1.ProtocolTCP))
	p := isolated()

	if err := Apply(ctx, c, ns, "team-a", p, []string{"10.9.8.7"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(writes(c), ", "); got != "create limitranges, create resourcequotas, create networkpolicies, create networkpolicies" {
		t.Errorf("first apply wrote: %s", got)
	}
	wl, err := c.NetworkingV1().NetworkPolicies(ns).Get(ctx, "team-a-workloads", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	local := wl.Spec.Egress[len(wl.Spec.Egress)-1]
	if len(wl.Spec.Egress) != 4 || local.To[0].IPBlock.CIDR != "172.31.255.1/32" || local.Ports[0].Port.IntValue() != 6443 {
		t.Errorf("workloads may not reach the API at 172.31.255.1:6443: %+v", wl.Spec.Egress)
	}
	cp, _ := c.NetworkingV1().NetworkPolicies(ns).Get(ctx, "team-a-control-plane", metav1.GetOptions{})
	if last := cp.Spec.Egress[len(cp.Spec.Egress)-1]; last.To[0].IPBlock == nil || last.To[0].IPBlock.CIDR != "10.9.8.7/32" {
		t.Errorf("control plane may not reach its datastore: %+v", cp.Spec.Egress)
	}

	// Unchanged policies write nothing; the DNS Service's endpoint appearing updates one policy.
	c.ClearActions()
	if err := Apply(ctx, c, ns, "team-a", p, []string{"10.9.8.7"}); err != nil {
		t.Fatal(err)
	}
	if w := writes(c); len(w) != 0 {
		t.Errorf("a second apply wrote %v", w)
	}
	if _, err := c.DiscoveryV1().EndpointSlices(ns).Create(ctx, apiSlice("team-a-dns", 40053, corev1.ProtocolUDP), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.ClearActions()
	if err := Apply(ctx, c, ns, "team-a", p, []string{"10.9.8.7"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(writes(c), ", "); got != "update networkpolicies" {
		t.Errorf("apply after the DNS Service wrote: %s", got)
	}

	// Turned off: vkube's objects go, the user's stay.
	if err := Apply(ctx, c, ns, "team-a", config.Policies{}, nil); err != nil {
		t.Fatal(err)
	}
	nps, _ := c.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	rqs, _ := c.CoreV1().ResourceQuotas(ns).List(ctx, metav1.ListOptions{})
	lrs, _ := c.CoreV1().LimitRanges(ns).List(ctx, metav1.ListOptions{})
	if len(nps.Items) != 1 || nps.Items[0].Name != "user-allow-web" || len(rqs.Items) != 1 || rqs.Items[0].Name != "user-quota" || len(lrs.Items) != 0 {
		t.Errorf("after turning isolation off: policies %v, quotas %v, limit ranges %v", nps.Items, rqs.Items, lrs.Items)
	}
}

func TestApplyLeavesAnObjectItDoesNotOwn(t *testing.T) {
	ctx := context.Background()
	theirs := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "team-a-quota", Namespace: ns},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("3")}}}
	c := fake.NewClientset(theirs)
	err := Apply(ctx, c, ns, "team-a", isolated(), nil)
	if err == nil || !strings.Contains(err.Error(), "ResourceQuota vc-team-a/team-a-quota exists and is not vkube's") ||
		!strings.Contains(err.Error(), "policies.resourceQuota.enabled") {
		t.Fatalf("a quota of the same name that vkube does not own: %v", err)
	}
	got, _ := c.CoreV1().ResourceQuotas(ns).Get(ctx, "team-a-quota", metav1.GetOptions{})
	if q := got.Spec.Hard[corev1.ResourcePods]; len(got.Spec.Hard) != 1 || q.String() != "3" || got.Labels[LabelCluster] != "" {
		t.Errorf("the user's quota was changed: %+v", got)
	}
	for _, a := range c.Actions() {
		if a.GetVerb() == "update" || a.GetVerb() == "delete" {
			t.Errorf("wrote %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
	// The rest is in place regardless.
	if _, err := c.NetworkingV1().NetworkPolicies(ns).Get(ctx, "team-a-workloads", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	// Turned off, it is still not vkube's to delete.
	if err := Apply(ctx, c, ns, "team-a", config.Policies{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ResourceQuotas(ns).Get(ctx, "team-a-quota", metav1.GetOptions{}); err != nil {
		t.Errorf("the user's quota was deleted: %v", err)
	}
}

func TestApplyRepairsADriftedObject(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	if err := Apply(ctx, c, ns, "team-a", isolated(), nil); err != nil {
		t.Fatal(err)
	}
	wl, _ := c.NetworkingV1().NetworkPolicies(ns).Get(ctx, "team-a-workloads", metav1.GetOptions{})
	wl.Spec.Egress = append(wl.Spec.Egress, networkingv1.NetworkPolicyEgressRule{})
	if _, err := c.NetworkingV1().NetworkPolicies(ns).Update(ctx, wl, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, c, ns, "team-a", isolated(), nil); err != nil {
		t.Fatal(err)
	}
	wl, _ = c.NetworkingV1().NetworkPolicies(ns).Get(ctx, "team-a-workloads", metav1.GetOptions{})
	if len(wl.Spec.Egress) != 3 {
		t.Errorf("an allow-everything rule added by hand survived: %+v", wl.Spec.Egress)
	}
}

func TestApplyReportsHostRefusals(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "resourcequotas", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("resourcequotas"), "team-a-quota", errors.New("no quota for you"))
	})
	err := Apply(context.Background(), c, ns, "team-a", isolated(), nil)
	if err == nil || !strings.Contains(err.Error(), "creating host ResourceQuota vc-team-a/team-a-quota") {
		t.Fatalf("refused quota: %v", err)
	}
	if _, gerr := c.CoreV1().LimitRanges(ns).Get(context.Background(), "team-a-limit-range", metav1.GetOptions{}); gerr != nil {
		t.Errorf("the LimitRange was not applied: %v", gerr)
	}
}
