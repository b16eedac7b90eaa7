// Package translate maps virtual objects to their host twins: names, marker labels and
// annotations, and the object bodies themselves. Pure functions, no clients.
package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"vkube.io/vkube/names"
)

// Marker labels and annotations on every host object vkube owns.
const (
	LabelManagedBy      = names.LabelSynced
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
const LabelHostNamespace = names.LabelHostNamespace

// maxName is the longest Kubernetes object name that is also a DNS label.
const maxName = 63

// sep joins the parts of a readable host name.
const sep = "-x-"

// HostName is the host name of a namespaced virtual object: <name>-x-<namespace>-x-<vcluster>;
// longer than 63 characters, the first 52 characters, "-" and the first 10 hex digits of the
// SHA-256 of the full name (vcluster's rule, so policies written for it keep matching).
//
// The readable form is only used when it can be read back: when "<name>-x-<namespace>" holds
// exactly one "-x-". Otherwise (pod a-x-b in namespace c and pod a in namespace b-x-c) the name
// is hashed (see hashedName), so distinct objects of one virtual cluster never share a twin.
func HostName(name, namespace, vcluster string) string {
	if occurrences(name+sep+namespace) != 1 {
		return hashedName(name, name, namespace, vcluster)
	}
	return SafeName(name + sep + namespace + sep + vcluster)
}

// HostClusterScopedName is the host name of a cluster-scoped virtual object (priority classes,
// storage classes, volumes): vkube-<vcluster>-x-<host namespace>-x-<name>, so that virtual
// clusters of one name in two host namespaces never share a twin. When that cannot be read back
// (a part holds "-x-") it is hashed, as in HostName.
func HostClusterScopedName(name, hostNamespace, vcluster string) string {
	readable := vcluster + sep + hostNamespace + sep + name
	if occurrences(readable) != 2 {
		return hashedName("vkube-"+name, name, hostNamespace, vcluster)
	}
	return SafeName("vkube-" + readable)
}

// LegacyClusterScopedName is the name cluster-scoped twins had before it named the host
// namespace: twins found under it are from an older vkube.
func LegacyClusterScopedName(name, vcluster string) string {
	return SafeName("vkube-" + vcluster + sep + name)
}

// occurrences counts "-x-" in s, overlapping ones included ("-x-x-" holds two): a joined name
// whose count is the number of separators splits back into its parts in exactly one way.
func occurrences(s string) int {
	n := 0
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			n++
		}
	}
	return n
}

// hashedName is the name of a twin whose readable name would be ambiguous: head up to its first
// "-x-" and at most 40 characters, "-" and 20 hex digits of the SHA-256 of the length-prefixed
// parts (an encoding no part can fake, whatever it holds). It is at most 61 characters and holds
// at most one "-x-" (where the head ends in "-x"), so it equals no readable name (two or more
// "-x-") and no shortened one (63 characters).
func hashedName(head string, parts ...string) string {
	if i := strings.Index(head, sep); i >= 0 {
		head = head[:i]
	}
	if len(head) > 40 {
		head = head[:40]
	}
	// A DNS name ends in a letter or digit.
	head = strings.TrimRight(head, "-.")
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p)) + ":" + p))
	}
	sum := hex.EncodeToString(h.Sum(nil))[:20]
	if head == "" {
		return "h" + sum
	}
	return head + "-" + sum
}

// SafeName shortens name to 63 characters with the truncate-plus-hash rule.
func SafeName(name string) string {
	if len(name) <= maxName {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:52] + "-" + hex.EncodeToString(sum[:])[:10]
}
