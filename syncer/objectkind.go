package syncer

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// objectKind is what a controller drives: a synced kind over the objects its informers hold,
// typed (pods) or unstructured (every syncedKind, through unstructuredKind).
type objectKind interface {
	gvr() schema.GroupVersionResource
	toHostObject(ctx context.Context, virtual runtime.Object) (host runtime.Object, skip bool, err error)
	fromHostObject(ctx context.Context, host, virtual runtime.Object) (runtime.Object, error)
	// forUpdateObject is the update of live that brings desired (what may change of it).
	forUpdateObject(desired, live runtime.Object) runtime.Object
}

// updatable lets a kind say which parts of a live host object an update may change (a Service's
// clusterIP and most of a Pod's spec are immutable).
type updatable interface {
	forUpdate(desired, live *unstructured.Unstructured) *unstructured.Unstructured
}

// updatingSubresources kinds change what a plain update ignores (a pod's ephemeral containers
// have their own subresource) before the update that records the new desired state.
type updatingSubresources interface {
	updateSubresources(ctx context.Context, desired, live runtime.Object) (runtime.Object, error)
}

// knowingUpToDate kinds tell from metadata alone that a live twin (owned by this virtual cluster)
// already holds what the virtual object translates to, sparing the translation and whatever it
// reads. Their fromHostObject must have nothing to bring back.
type knowingUpToDate interface {
	upToDate(virtual, live runtime.Object) bool
}

// finalizing kinds finish a virtual deletion themselves (pods stay Terminating until the host pod
// is gone, since no kubelet will do it in the virtual cluster).
type finalizing interface {
	finalize(ctx context.Context, virtual, live runtime.Object) error
}

// unstructuredKind drives a syncedKind, whose objects come from dynamic informers.
type unstructuredKind struct{ syncedKind }

// adapt drives k as an objectKind, finalizing when k does.
func adapt(k syncedKind) objectKind {
	if _, ok := k.(unstructuredFinalizing); ok {
		return finalizingKind{unstructuredKind{k}}
	}
	return unstructuredKind{k}
}

type unstructuredFinalizing interface {
	finalize(ctx context.Context, virtual, live *unstructured.Unstructured) error
}

type finalizingKind struct{ unstructuredKind }

func (k finalizingKind) finalize(ctx context.Context, virtual, live runtime.Object) error {
	liveU, _ := live.(*unstructured.Unstructured) // nil when there is no twin
	return k.syncedKind.(unstructuredFinalizing).finalize(ctx, virtual.(*unstructured.Unstructured), liveU)
}

func (k unstructuredKind) toHostObject(ctx context.Context, virtual runtime.Object) (runtime.Object, bool, error) {
	h, skip, err := k.toHost(ctx, virtual.(*unstructured.Unstructured))
	if h == nil {
		return nil, skip, err
	}
	return h, skip, err
}

func (k unstructuredKind) fromHostObject(ctx context.Context, host, virtual runtime.Object) (runtime.Object, error) {
	back, err := k.fromHost(ctx, host.(*unstructured.Unstructured), virtual.(*unstructured.Unstructured))
	if back == nil {
		return nil, err
	}
	return back, err
}

func (k unstructuredKind) forUpdateObject(desired, live runtime.Object) runtime.Object {
	if u, ok := k.syncedKind.(updatable); ok {
		return u.forUpdate(desired.(*unstructured.Unstructured), live.(*unstructured.Unstructured))
	}
	return desired
}
