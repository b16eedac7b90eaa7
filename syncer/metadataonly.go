package syncer

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	fetched *fetchedObjects
}

// fetchedObjects keeps the last full read of each synced object: a resync then costs no read
// while its resourceVersion is unchanged. Only synced objects are kept (what pods use).
type fetchedObjects struct {
	mu sync.Mutex
	m  map[string]*unstructured.Unstructured
}

func newFetchedObjects() *fetchedObjects {
	return &fetchedObjects{m: map[string]*unstructured.Unstructured{}}
}

// get is the kept object for m if it is still m's version.
func (f *fetchedObjects) get(m metav1.Object) *unstructured.Unstructured {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.m[objectKey(m.GetNamespace(), m.GetName())]
	if u == nil || u.GetResourceVersion() != m.GetResourceVersion() {
		return nil
	}
	return u
}

func (f *fetchedObjects) put(u *unstructured.Unstructured) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[objectKey(u.GetNamespace(), u.GetName())] = u
}

func (f *fetchedObjects) forget(ns, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, objectKey(ns, name))
}

// forgetDeleted drops what inf's objects no longer need once they are deleted.
func (f *fetchedObjects) forgetDeleted(inf cache.SharedIndexInformer) {
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(o any) {
		if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		if m, err := meta.Accessor(o); err == nil {
			f.forget(m.GetNamespace(), m.GetName())
		}
	}})
}

func (k fetchingKind) toHostObject(ctx context.Context, virtual runtime.Object) (runtime.Object, bool, error) {
	m := metaOf(virtual)
	if !k.only.syncs(m) {
		k.fetched.forget(m.GetNamespace(), m.GetName())
		return nil, true, nil
	}
	full := k.fetched.get(m)
	if full == nil {
		var err error
		full, err = k.virtual.Namespace(m.GetNamespace()).Get(ctx, m.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, true, nil // deleted since: the informer's delete follows
		}
		if err != nil {
			return nil, false, err
		}
		_, _ = stripManagedFields(full)
		k.fetched.put(full)
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
		return stripManagedFields(o)
	})
	return inf, err
}

// withoutManagedFields makes inf drop managedFields from what it caches: no reconcile reads
// them, and they are often the larger part of an object's metadata. An update sent without
// them keeps the server's. It must run before inf starts.
func withoutManagedFields(inf cache.SharedIndexInformer) cache.SharedIndexInformer {
	_ = inf.SetTransform(stripManagedFields)
	return inf
}

func stripManagedFields(o any) (any, error) {
	if m, err := meta.Accessor(o); err == nil {
		m.SetManagedFields(nil)
	}
	return o, nil
}
