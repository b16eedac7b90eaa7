package lifecycle

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"vkube.io/vkube/config"
	"vkube.io/vkube/isolation"
)

// Helm's ownership marks: an existing object that carries them for this release is adopted by an
// install or upgrade instead of refused.
const (
	helmManagedBy        = "Helm"
	helmReleaseName      = "meta.helm.sh/release-name"
	helmReleaseNamespace = "meta.helm.sh/release-namespace"
)

// adoptIsolation hands the isolation objects an older vkube pod made itself (the chart renders
// them now, and the pod may no longer write them) to the release: those the new values still ask
// for get Helm's ownership marks, so that the upgrade takes them over; the others are deleted, as
// the old pod would have done. Only objects labelled as this virtual cluster's are touched.
func adoptIsolation(ctx context.Context, dyn dynamic.Interface, ns, name string, p config.Policies) error {
	core := schema.GroupVersionResource{Version: "v1"}
	netpol := schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}
	for _, o := range []struct {
		gvr  schema.GroupVersionResource
		name string
		want bool
	}{
		{withResource(core, "resourcequotas"), isolation.QuotaName(name), p.ResourceQuota.Enabled},
		{withResource(core, "limitranges"), isolation.LimitRangeName(name), p.LimitRange.Enabled},
		{netpol, isolation.ControlPlanePolicyName(name), p.NetworkPolicy.Enabled},
		{netpol, isolation.WorkloadsPolicyName(name), p.NetworkPolicy.Enabled},
	} {
		api := dyn.Resource(o.gvr).Namespace(ns)
		live, err := api.Get(ctx, o.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s %s/%s: %w", o.gvr.Resource, ns, o.name, err)
		}
		if live.GetLabels()[labelCluster] != name || live.GetAnnotations()[helmReleaseName] != "" {
			continue // the user's (Helm then names the conflict), or the release's already
		}
		if !o.want {
			uid := live.GetUID()
			if err := api.Delete(ctx, o.name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting %s %s/%s: %w", o.gvr.Resource, ns, o.name, err)
			}
			continue
		}
		mark(live, name, ns)
		if _, err := api.Update(ctx, live, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("handing %s %s/%s to the release: %w", o.gvr.Resource, ns, o.name, err)
		}
	}
	return nil
}

func withResource(gvr schema.GroupVersionResource, resource string) schema.GroupVersionResource {
	gvr.Resource = resource
	return gvr
}

func mark(u *unstructured.Unstructured, release, ns string) {
	labels, annotations := u.GetLabels(), u.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	labels["app.kubernetes.io/managed-by"] = helmManagedBy
	annotations[helmReleaseName], annotations[helmReleaseNamespace] = release, ns
	u.SetLabels(labels)
	u.SetAnnotations(annotations)
}
