package syncer

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"vkube.io/vkube/syncer/translate"
)

// The cluster-scoped kinds synced only when asked (sync.toHost.{priorityClasses,storageClasses,
// persistentVolumes}). Their twins are named HostClusterScopedName, so that virtual clusters
// sharing a host never collide, and pods, claims and volumes that name them are rewritten.

// clusterScoped marks a kind whose objects live in no namespace, in both clusters.
type clusterScoped interface{ clusterScoped() }

func isClusterScoped(k syncedKind) bool {
	_, ok := k.(clusterScoped)
	return ok
}

// Annotations that make a StorageClass the default: a tenant's class must never become the
// host's default.
var defaultClassAnnotations = []string{"storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"}

// copyTopLevel copies a virtual object's body (everything but identity, metadata and status) into
// its host twin.
func copyTopLevel(v, h *unstructured.Unstructured) {
	for k, val := range v.Object {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
		default:
			h.Object[k] = runtime.DeepCopyJSONValue(val)
		}
	}
}

// priorityClasses syncs PriorityClasses, never as the host's global default and never above the
// host admin's ceiling; the host's own system classes stay the host's.
type priorityClasses struct {
	tctx translate.Context
	// max is policies.hostAccess.maxPriorityClassValue; twins lists the host twins, so that one
	// made under another ceiling is made anew (a class's value is immutable).
	max    int32
	twins  cache.GenericLister
	events clusterEvents
}

func (priorityClasses) clusterScoped() {}

func (priorityClasses) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"}
}

func (r priorityClasses) toHost(ctx context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	if isSystemPriorityClass(v.GetName()) {
		return nil, true, nil
	}
	h := r.tctx.HostClusterObject(v)
	copyTopLevel(v, h)
	// A tenant's default would apply to every pod of the host.
	delete(h.Object, "globalDefault")
	value := priorityValue(v)
	kept, clamped := clampPriority(value, r.max)
	h.Object["value"] = kept
	if clamped {
		r.events.record(ctx, "PriorityClass", "scheduling.k8s.io/v1", v, reasonClamped, clampedMessage(value, kept))
	}
	if r.twins != nil {
		if live, err := r.twins.Get(h.GetName()); err == nil {
			if u, ok := live.(*unstructured.Unstructured); ok && r.tctx.Owned(u) {
				if priorityValue(u) != kept {
					// Made under another ceiling (or before there was one): removed here, made
					// anew with this value once the host reports it gone.
					return nil, true, nil
				}
			}
		}
	}
	return h, false, nil
}

func (priorityClasses) fromHost(context.Context, *unstructured.Unstructured, *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return nil, nil
}

// forUpdate: a class's value and preemption policy are immutable.
func (priorityClasses) forUpdate(desired, live *unstructured.Unstructured) *unstructured.Unstructured {
	u := live.DeepCopy()
	u.SetLabels(desired.GetLabels())
	u.SetAnnotations(desired.GetAnnotations())
	if d, ok := desired.Object["description"]; ok {
		u.Object["description"] = d
	} else {
		delete(u.Object, "description")
	}
	return u
}

// isSystemPriorityClass: the apiserver's own classes, present in both clusters.
func isSystemPriorityClass(name string) bool { return strings.HasPrefix(name, "system-") }

// hostPriorityClass is the host class a virtual pod's priorityClassName becomes; "" drops it.
func hostPriorityClass(cfg *Config, name string) string {
	if !cfg.PriorityClasses || name == "" || isSystemPriorityClass(name) {
		return ""
	}
	return translate.HostClusterScopedName(name, cfg.HostNamespace, cfg.Name)
}

// storageClasses syncs StorageClasses. Copies of host classes (fromHost) are not synced back.
type storageClasses struct{ tctx translate.Context }

func (storageClasses) clusterScoped() {}

func (storageClasses) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"}
}

func (r storageClasses) toHost(_ context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	if isHostCopy(v) {
		return nil, true, nil
	}
	h := r.tctx.HostClusterObject(v)
	copyTopLevel(v, h)
	ann := h.GetAnnotations()
	for _, a := range defaultClassAnnotations {
		delete(ann, a)
	}
	h.SetAnnotations(ann)
	return h, false, nil
}

func (storageClasses) fromHost(context.Context, *unstructured.Unstructured, *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return nil, nil
}

// forUpdate: everything but a class's metadata (and allowVolumeExpansion) is immutable.
func (storageClasses) forUpdate(desired, live *unstructured.Unstructured) *unstructured.Unstructured {
	u := live.DeepCopy()
	u.SetLabels(desired.GetLabels())
	u.SetAnnotations(desired.GetAnnotations())
	if e, ok := desired.Object["allowVolumeExpansion"]; ok {
		u.Object["allowVolumeExpansion"] = e
	}
	return u
}

// isHostCopy reports whether a virtual object is vkube's copy of a host object.
func isHostCopy(o metav1.Object) bool { return o.GetLabels()[translate.LabelFromHost] == "true" }

// storageNames rewrites the storage a claim or volume names: a virtual StorageClass synced to
// the host becomes its twin's name (a shared host class keeps its name), a virtual volume its
// twin's.
type storageNames struct {
	tctx translate.Context
	// classes lists the virtual StorageClasses when they are synced; nil otherwise. A class the
	// lister has not seen yet is read from virtual, when set: a claim's class is immutable on
	// the host, so a claim applied together with its class must not race the informer.
	classes cache.GenericLister
	virtual dynamic.Interface
	// volumes: virtual PersistentVolumes are synced.
	volumes bool
}

func (n storageNames) class(ctx context.Context, name string) (string, error) {
	if n.classes == nil || name == "" {
		return name, nil
	}
	var obj metav1.Object
	o, err := n.classes.Get(name)
	if err == nil {
		obj, _ = o.(metav1.Object)
	} else if apierrors.IsNotFound(err) && n.virtual != nil {
		obj, err = n.virtual.Resource(storageClasses{}.gvr()).Get(ctx, name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		return name, nil // no virtual class: the host's, if any
	case err != nil:
		return "", err
	case isHostCopy(obj):
		return name, nil
	}
	return translate.HostClusterScopedName(name, n.tctx.HostNamespace, n.tctx.VCluster), nil
}

// persistentVolumes syncs PersistentVolumes the tenant creates (static provisioning): the
// claimRef names the host twin of the virtual claim, the class its host class, and the phase
// comes back. A tenant's volume source is used as it is, but for storage on a node's own
// filesystem or disks (hostPath, local), which only the host admin may allow (hostPath); other
// sources reach whatever storage the host's nodes and drivers can, so enabling this kind still
// trusts tenants with the host's storage.
type persistentVolumes struct {
	tctx     translate.Context
	names    storageNames
	virtual  dynamic.Interface
	host     dynamic.Interface
	hostPath bool
	events   clusterEvents
}

func (persistentVolumes) clusterScoped() {}

func (persistentVolumes) gvr() schema.GroupVersionResource {
	return corev1.SchemeGroupVersion.WithResource("persistentvolumes")
}

func (r persistentVolumes) toHost(ctx context.Context, v *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	if isHostCopy(v) {
		return nil, true, nil
	}
	spec, _, _ := unstructured.NestedMap(v.Object, "spec")
	if refused := nodeStorageSources(spec); len(refused) > 0 && !r.hostPath {
		r.events.record(ctx, "PersistentVolume", "v1", v, reasonSyncError, hostPathRefusal(refused))
		return nil, true, nil
	}
	if refs := namespacedSecretRefs(spec, "spec"); len(refs) > 0 {
		r.events.record(ctx, "PersistentVolume", "v1", v, reasonSyncError, secretRefRefusal(refs))
		return nil, true, nil
	}
	h := r.tctx.HostClusterObject(v)
	spec = runtime.DeepCopyJSON(spec)
	if c, ok := spec["storageClassName"].(string); ok {
		hc, err := r.names.class(ctx, c)
		if err != nil {
			return nil, false, err
		}
		spec["storageClassName"] = hc
	}
	if ref, ok := spec["claimRef"].(map[string]any); ok {
		ns, _ := ref["namespace"].(string)
		name, _ := ref["name"].(string)
		// The host fills in the uid of its own claim when it binds.
		spec["claimRef"] = map[string]any{"kind": "PersistentVolumeClaim", "apiVersion": "v1",
			"namespace": r.tctx.HostNamespace, "name": translate.HostName(name, ns, r.tctx.VCluster)}
	}
	h.Object["spec"] = spec
	return h, false, nil
}

// forUpdate: a volume's source is immutable, and the claimRef the host's binder completed stays.
func (persistentVolumes) forUpdate(desired, live *unstructured.Unstructured) *unstructured.Unstructured {
	u := live.DeepCopy()
	u.SetLabels(desired.GetLabels())
	u.SetAnnotations(desired.GetAnnotations())
	for _, f := range []string{"capacity", "persistentVolumeReclaimPolicy", "mountOptions", "accessModes"} {
		if val, ok, _ := unstructured.NestedFieldCopy(desired.Object, "spec", f); ok {
			_ = unstructured.SetNestedField(u.Object, val, "spec", f)
		}
	}
	want, _, _ := unstructured.NestedStringMap(desired.Object, "spec", "claimRef")
	have, _, _ := unstructured.NestedStringMap(live.Object, "spec", "claimRef")
	if want != nil && (have == nil || have["name"] != want["name"] || have["namespace"] != want["namespace"]) {
		_ = unstructured.SetNestedStringMap(u.Object, want, "spec", "claimRef")
	}
	return u
}

func (persistentVolumes) fromHost(_ context.Context, host, v *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return copyStatus(host, v), nil
}

// finalize: the virtual cluster's pv-protection keeps a Bound volume, so the host's phase keeps
// coming back until the twin is gone, and then the virtual volume is Released.
func (r persistentVolumes) finalize(ctx context.Context, v, live *unstructured.Unstructured) error {
	vols := r.virtual.Resource(r.gvr())
	if live != nil && r.tctx.Owned(live) {
		if live.GetDeletionTimestamp() == nil {
			uid := live.GetUID()
			err := r.host.Resource(r.gvr()).Delete(ctx, live.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return err
			}
		}
		if back := copyStatus(live, v); back != nil {
			if _, err := vols.UpdateStatus(ctx, back, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return err
			}
		}
		return errRequeue
	}
	if phase, _, _ := unstructured.NestedString(v.Object, "status", "phase"); phase != string(corev1.VolumeBound) {
		return nil
	}
	out := v.DeepCopy()
	_ = unstructured.SetNestedField(out.Object, string(corev1.VolumeReleased), "status", "phase")
	_, err := vols.UpdateStatus(ctx, out, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
