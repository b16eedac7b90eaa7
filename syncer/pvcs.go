package syncer

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"vkube.io/vkube/syncer/translate"
)

// pvcs syncs PersistentVolumeClaims; the host binds them and the phase and capacity come back.
type pvcs struct {
	tctx  translate.Context
	names storageNames
}

func (pvcs) gvr() schema.GroupVersionResource {
	return corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims")
}

func (r pvcs) toHost(ctx context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	h := r.tctx.HostObject(v)
	spec, _, _ := unstructured.NestedMap(v.Object, "spec")
	spec = runtime.DeepCopyJSON(spec)
	if vol, _ := spec["volumeName"].(string); vol != "" && r.names.volumes {
		// A claim of a tenant's own volume binds to that volume's twin.
		spec["volumeName"] = translate.HostClusterScopedName(vol, r.tctx.HostNamespace, r.tctx.VCluster)
	} else {
		// Otherwise the virtual cluster has no PVs of its own: the host binds the claim to one of
		// its own.
		delete(spec, "volumeName")
	}
	if c, ok := spec["storageClassName"].(string); ok {
		hc, err := r.names.class(ctx, c)
		if err != nil {
			return nil, false, err
		}
		spec["storageClassName"] = hc
	}
	var claim corev1.PersistentVolumeClaimSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, &claim); err != nil {
		return nil, false, err
	}
	if claim.DataSource != nil || claim.DataSourceRef != nil {
		if err := translate.HostClaimSpec(&claim, "spec", v.GetNamespace(), r.tctx.VCluster); err != nil {
			return nil, false, err
		}
		translated, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&claim)
		if err != nil {
			return nil, false, err
		}
		for _, field := range []string{"dataSource", "dataSourceRef"} {
			if src, ok := translated[field]; ok {
				spec[field] = src
			}
		}
	}
	h.Object["spec"] = spec
	return h, false, nil
}

// forUpdate: a claim's spec is immutable except its requested size.
func (pvcs) forUpdate(desired, live *unstructured.Unstructured) *unstructured.Unstructured {
	u := live.DeepCopy()
	u.SetLabels(desired.GetLabels())
	u.SetAnnotations(desired.GetAnnotations())
	if req, ok, _ := unstructured.NestedFieldCopy(desired.Object, "spec", "resources", "requests"); ok {
		_ = unstructured.SetNestedField(u.Object, req, "spec", "resources", "requests")
	}
	return u
}

func (pvcs) fromHost(_ context.Context, host, v *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return copyStatus(host, v), nil
}
