package syncer

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// metadataOnlyKind is a kind whose virtual objects are cached as metadata only: a tenant's
// cluster holds many ConfigMaps and Secrets no pod uses, which are never synced, and caching
// their data would make vkube's memory the size of the tenant's data. Whether one is synced is
// decided from its metadata; a synced one is read in full from the virtual API server.
type metadataOnlyKind interface {
	syncedKind
	// syncs reports, from the metadata alone, whether the object is to be synced.
	syncs(m metav1.Object) bool
	kind() string
}

// fetchingKind drives a metadataOnlyKind: the controller's virtual objects are
// *metav1.PartialObjectMetadata.
type fetchingKind struct {
	unstructuredKind
	only    metadataOnlyKind
	virtual dynamic.NamespaceableResourceInterface
}

func (k fetchingKind) toHostObject(ctx context.Context, virtual runtime.Object) (runtime.Object, bool, error) {
	m := metaOf(virtual)
	if !k.only.syncs(m) {
		return nil, true, nil
	}
	full, err := k.virtual.Namespace(m.GetNamespace()).Get(ctx, m.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, true, nil // deleted since: the informer's delete follows
	}
	if err != nil {
		return nil, false, err
	}
	return k.unstructuredKind.toHostObject(ctx, full)
}

// fromHostObject: nothing comes back from the host for these kinds (no status).
func (fetchingKind) fromHostObject(context.Context, runtime.Object, runtime.Object) (runtime.Object, error) {
	return nil, nil
}

// metadataInformer is k's virtual informer from f, its objects typed with k's kind so that the
// events the controller records name the real object.
func metadataInformer(f metadatainformer.SharedInformerFactory, k metadataOnlyKind) (cache.SharedIndexInformer, error) {
	gvr := k.gvr()
	inf := f.ForResource(gvr).Informer()
	err := inf.SetTransform(func(o any) (any, error) {
		if p, ok := o.(*metav1.PartialObjectMetadata); ok {
			p.TypeMeta = metav1.TypeMeta{APIVersion: gvr.GroupVersion().String(), Kind: k.kind()}
		}
		return o, nil
	})
	return inf, err
}
