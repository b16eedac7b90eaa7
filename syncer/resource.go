package syncer

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// syncedKind is one synced kind: how a virtual object becomes its host twin and, where the host
// knows more (status), how that flows back.
type syncedKind interface {
	// gvr of the kind, the same in both clusters.
	gvr() schema.GroupVersionResource
	// toHost translates a virtual object; skip=true means this object is not synced (e.g. a
	// ConfigMap no pod uses), and an existing twin is removed.
	toHost(ctx context.Context, virtual *unstructured.Unstructured) (host *unstructured.Unstructured, skip bool, err error)
	// fromHost copies what the host owns (status) into the virtual object; nil: nothing to do.
	fromHost(ctx context.Context, host, virtual *unstructured.Unstructured) (*unstructured.Unstructured, error)
}
