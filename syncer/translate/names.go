// Package translate maps virtual objects to their host twins: names, marker labels and
// annotations, and the object bodies themselves. Pure functions, no clients.
package translate

import (
	"crypto/sha256"
	"encoding/hex"
)

// Marker labels and annotations on every host object vkube owns.
const (
	LabelManagedBy      = "vkube.io/managed-by"
	LabelNamespace      = "vkube.io/namespace"
	AnnotationName      = "vkube.io/object-name"
	AnnotationNamespace = "vkube.io/object-namespace"
	AnnotationUID       = "vkube.io/object-uid"
	AnnotationKind      = "vkube.io/object-kind"
	// AnnotationTranslation is the hash of the last translation applied: desired host state is
	// compared with it, never with the live host object, which a host of another version may
	// have defaulted differently (a live comparison would update forever).
	AnnotationTranslation = "vkube.io/translation-hash"
)

// LabelHostNamespace is on cluster-scoped twins only: with LabelManagedBy it names the one virtual
// cluster a twin belongs to, since two in different host namespaces may share a name.
const LabelHostNamespace = "vkube.io/host-namespace"

// maxName is the longest Kubernetes object name that is also a DNS label.
const maxName = 63

// HostName is the host name of a namespaced virtual object: <name>-x-<namespace>-x-<vcluster>;
// longer than 63 characters, the first 52 characters, "-" and the first 10 hex digits of the
// SHA-256 of the full name (vcluster's rule, so policies written for it keep matching).
func HostName(name, namespace, vcluster string) string {
	return SafeName(name + "-x-" + namespace + "-x-" + vcluster)
}

// HostClusterScopedName is the host name of a cluster-scoped virtual object (priority classes,
// storage classes): vkube-<vcluster>-x-<name>.
func HostClusterScopedName(name, vcluster string) string {
	return SafeName("vkube-" + vcluster + "-x-" + name)
}

// SafeName shortens name to 63 characters with the truncate-plus-hash rule.
func SafeName(name string) string {
	if len(name) <= maxName {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:52] + "-" + hex.EncodeToString(sum[:])[:10]
}
