package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Context is what every translation needs to know.
type Context struct {
	// VCluster is the virtual cluster's name; HostNamespace where its twins live.
	VCluster      string
	HostNamespace string
}

// HostObject starts the host twin of a namespaced virtual object: the translated name in the
// host namespace, the virtual labels plus vkube's markers, the virtual annotations plus the
// virtual identity. Server-owned metadata and the tenant's keys in vkube's prefix (Reserved) are
// dropped: a tenant must not forge a marker.
func (c Context) HostObject(virtual *unstructured.Unstructured) *unstructured.Unstructured {
	host := &unstructured.Unstructured{Object: map[string]any{}}
	host.SetAPIVersion(virtual.GetAPIVersion())
	host.SetKind(virtual.GetKind())
	host.SetNamespace(c.HostNamespace)
	host.SetName(HostName(virtual.GetName(), virtual.GetNamespace(), c.VCluster))
	host.SetLabels(c.HostLabels(virtual.GetNamespace(), virtual.GetLabels()))
	ann := withoutReserved(virtual.GetAnnotations(), 4)
	delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
	ann[AnnotationName] = virtual.GetName()
	ann[AnnotationNamespace] = virtual.GetNamespace()
	ann[AnnotationUID] = string(virtual.GetUID())
	ann[AnnotationKind] = virtual.GetKind()
	host.SetAnnotations(ann)
	return host
}

// HostLabels are the virtual labels plus the markers that say which virtual cluster and
// namespace a host object belongs to; selectors get the same markers so that a virtual Service
// never selects pods of another virtual namespace or cluster. Keys in vkube's prefix (Reserved)
// are dropped first: a tenant's label must not pass for one of vkube's (a control-plane pod's
// label, another namespace's marker), nor its selector pick vkube's own pods.
func (c Context) HostLabels(namespace string, labels map[string]string) map[string]string {
	out := withoutReserved(labels, 2)
	out[LabelManagedBy] = c.VCluster
	out[LabelNamespace] = SafeLabelValue(namespace)
	return out
}

// SafeLabelValue fits a value into a label's 63 characters.
func SafeLabelValue(v string) string { return SafeName(v) }

// Owned reports whether a host object was created by this virtual cluster. A cluster-scoped
// twin made before LabelHostNamespace existed has none and counts as this cluster's.
func (c Context) Owned(host metav1.Object) bool {
	labels := host.GetLabels()
	ns, marked := labels[LabelHostNamespace]
	return labels[LabelManagedBy] == c.VCluster && (!marked || ns == c.HostNamespace)
}

// Stamp records the hash of the translation in the host object, for Changed to compare later.
// A typed object hashes as its unstructured form, so that both forms of one translation agree.
func Stamp(host runtime.Object) error {
	m, err := meta.Accessor(host)
	if err != nil {
		return err
	}
	ann := m.GetAnnotations()
	delete(ann, AnnotationTranslation)
	m.SetAnnotations(ann)
	content, ok := host.(*unstructured.Unstructured)
	if !ok {
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(host)
		if err != nil {
			return err
		}
		content = &unstructured.Unstructured{Object: obj}
	}
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationTranslation] = hash(content.Object)
	m.SetAnnotations(ann)
	return nil
}

// Changed reports whether desired (already stamped) differs from what was last applied to live.
func Changed(desired, live metav1.Object) bool {
	return desired.GetAnnotations()[AnnotationTranslation] != live.GetAnnotations()[AnnotationTranslation]
}

func hash(obj map[string]any) string {
	b, _ := json.Marshal(obj)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// LabelFromHost marks a virtual object that is a read-only copy of a host object (shared host
// StorageClasses): vkube keeps it in step with the host and never syncs it back.
const LabelFromHost = "vkube.io/from-host"

// HostClusterObject starts the host twin of a cluster-scoped virtual object, like HostObject
// but named with HostClusterScopedName, in no namespace, and labelled with the host namespace
// (what `vkube delete` selects the twins of one virtual cluster by).
func (c Context) HostClusterObject(virtual *unstructured.Unstructured) *unstructured.Unstructured {
	host := c.HostObject(virtual)
	host.SetNamespace("")
	host.SetName(HostClusterScopedName(virtual.GetName(), c.HostNamespace, c.VCluster))
	labels := host.GetLabels()
	delete(labels, LabelNamespace)
	labels[LabelHostNamespace] = c.HostNamespace
	host.SetLabels(labels)
	return host
}
