package e2e

import (
	"context"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// hostRBAC: the tenant's network position is the control plane's pod, whose host credentials
// (its ServiceAccount) a compromise of the virtual API server would hand over. They grant only
// what vkube calls: no host tokens for other ServiceAccounts, no bulk deletes, no Endpoints, no
// write on the isolation objects that constrain the pod itself, and (with the defaults) nothing
// cluster-scoped to write.
func (a *tenant) hostRBAC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sts, err := a.hc.AppsV1().StatefulSets(a.hostNS).Get(ctx, a.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa := sts.Spec.Template.Spec.ServiceAccountName
	user := "system:serviceaccount:" + a.hostNS + ":" + sa
	can := func(attr authorizationv1.ResourceAttributes) bool {
		t.Helper()
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + a.hostNS, "system:authenticated"},
			ResourceAttributes: &attr}}
		got, err := a.hc.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SubjectAccessReview %+v: %v", attr, err)
		}
		return got.Status.Allowed
	}
	in := func(verb, group, resource, sub string) authorizationv1.ResourceAttributes {
		return authorizationv1.ResourceAttributes{Namespace: a.hostNS, Verb: verb, Group: group, Resource: resource, Subresource: sub}
	}
	// What the syncer does all day must stay allowed, or the checks below prove nothing.
	for _, attr := range []authorizationv1.ResourceAttributes{in("create", "", "pods", ""), in("delete", "", "pods", ""), in("create", "", "services", "")} {
		if !can(attr) {
			t.Errorf("%s may not %s %s in %s: the syncer needs it", user, attr.Verb, attr.Resource, a.hostNS)
		}
	}
	denied := []authorizationv1.ResourceAttributes{
		in("create", "", "serviceaccounts", "token"),
		in("deletecollection", "", "pods", ""),
		in("deletecollection", "", "secrets", ""),
		in("create", "", "endpoints", ""),
		in("update", "", "endpoints", ""),
	}
	for _, r := range []struct{ group, resource string }{{"", "resourcequotas"}, {"", "limitranges"}, {"networking.k8s.io", "networkpolicies"}} {
		for _, verb := range []string{"create", "update", "patch", "delete"} {
			denied = append(denied, in(verb, r.group, r.resource, ""))
		}
	}
	for _, r := range []struct{ group, resource string }{{"scheduling.k8s.io", "priorityclasses"}, {"", "persistentvolumes"}, {"storage.k8s.io", "storageclasses"}} {
		for _, verb := range []string{"create", "update", "delete"} {
			denied = append(denied, authorizationv1.ResourceAttributes{Verb: verb, Group: r.group, Resource: r.resource})
		}
	}
	for _, attr := range denied {
		if can(attr) {
			what := attr.Resource
			if attr.Subresource != "" {
				what += "/" + attr.Subresource
			}
			t.Errorf("%s may %s %s (namespace %q) on the host", user, attr.Verb, what, attr.Namespace)
		}
	}
}
