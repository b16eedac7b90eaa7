package translate

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// reservedDomain is vkube's label and annotation prefix: keys under it (or a subdomain of it)
// are vkube's markers, which a tenant must not be able to write onto a host object.
const reservedDomain = "vkube.io"

// Reserved reports whether a label or annotation key belongs to vkube: its prefix (the part
// before "/") is vkube.io or ends in .vkube.io. Such keys written by a tenant never reach the
// host; vkube's own markers are added after they are stripped.
func Reserved(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	prefix = strings.ToLower(prefix)
	return prefix == reservedDomain || strings.HasSuffix(prefix, "."+reservedDomain)
}

// withoutReserved copies m without the keys vkube reserves.
func withoutReserved(m map[string]string, extra int) map[string]string {
	out := make(map[string]string, len(m)+extra)
	for k, v := range m {
		if !Reserved(k) {
			out[k] = v
		}
	}
	return out
}

// Identity is the virtual object a host twin stands for, as its annotations record it.
type Identity struct {
	// Kind is "" when unknown (then not compared).
	Kind      string
	Namespace string
	Name      string
	// UID is "" when unknown: the Service webhook creates a twin before the apiserver gives
	// the virtual Service its UID.
	UID string
}

// IdentityOf is the identity of virtual object m of kind kind.
func IdentityOf(kind string, m metav1.Object) Identity {
	return Identity{Kind: kind, Namespace: m.GetNamespace(), Name: m.GetName(), UID: string(m.GetUID())}
}

// Recorded is the identity a twin's annotations record.
func Recorded(annotations map[string]string) Identity {
	return Identity{Kind: annotations[AnnotationKind], Namespace: annotations[AnnotationNamespace],
		Name: annotations[AnnotationName], UID: annotations[AnnotationUID]}
}

// Match is what a live twin is to a virtual object.
type Match int

const (
	// Same: the twin of this object; it may be updated and deleted.
	Same Match = iota
	// Earlier: the twin of an earlier object of the same kind, namespace and name (deleted and
	// created again); it is replaced.
	Earlier
	// Foreign: another object's twin, or one whose identity is unknown; it is never changed.
	Foreign
)

func (m Match) String() string {
	return [...]string{"same", "earlier", "foreign"}[m]
}

// Match decides what the twin whose annotations are given is to the object of identity id. Only a
// twin recording id's namespace and name may be touched: host names are not trusted to say it,
// since an older vkube gave two objects one name.
func (id Identity) Match(annotations map[string]string) Match {
	rec := Recorded(annotations)
	switch {
	case rec.Name == "" || rec.Name != id.Name || rec.Namespace != id.Namespace:
		return Foreign
	case rec.Kind != "" && id.Kind != "" && rec.Kind != id.Kind:
		return Foreign
	case rec.UID != "" && id.UID != "" && rec.UID != id.UID:
		return Earlier
	}
	return Same
}

// String is the identity as a tenant reads it: namespace/name.
func (id Identity) String() string {
	if id.Namespace == "" {
		return id.Name
	}
	return id.Namespace + "/" + id.Name
}
