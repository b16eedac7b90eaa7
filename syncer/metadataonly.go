package syncer

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"vkube.io/vkube/syncer/translate"
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

// fetchingKind drives a metadataOnlyKind: the controller's virtual objects, and its host twins,
// are *metav1.PartialObjectMetadata.
type fetchingKind struct {
	unstructuredKind
	only    metadataOnlyKind
	virtual dynamic.NamespaceableResourceInterface
	fetched *fetchedObjects
}

// fetchedObjects remembers what the last full read of each synced object translated to: a
// resync then costs neither a read nor a translation while the object's resourceVersion and
// its twin's stamp are unchanged. Only the stamp is kept, not the object: keeping every synced
// object would make vkube's memory the size of the data pods use.
type fetchedObjects struct {
	mu sync.Mutex
	m  map[string]translated
}

// translated is one read: the object's resourceVersion, and the stamp of its translation ("" when
// the kind skips the object, such as a service-account token Secret).
type translated struct {
	resourceVersion, stamp string
}

func newFetchedObjects() *fetchedObjects {
	return &fetchedObjects{m: map[string]translated{}}
}

// get is what the last read of m translated to, if it read m's version.
func (f *fetchedObjects) get(m metav1.Object) (translated, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.m[objectKey(m.GetNamespace(), m.GetName())]
	return t, ok && t.resourceVersion == m.GetResourceVersion()
}

func (f *fetchedObjects) put(ns, name string, t translated) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[objectKey(ns, name)] = t
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

// upToDate: live already holds what virtual translates to, as the last read of this version of
// virtual found (the stamp covers the twin's identity annotations too).
func (k fetchingKind) upToDate(virtual, live runtime.Object) bool {
	m := metaOf(virtual)
	if !k.only.syncs(m) {
		return false
	}
	t, ok := k.fetched.get(m)
	return ok && t.stamp != "" && t.stamp == metaOf(live).GetAnnotations()[translate.AnnotationTranslation]
}

func (k fetchingKind) toHostObject(ctx context.Context, virtual runtime.Object) (runtime.Object, bool, error) {
	m := metaOf(virtual)
	if !k.only.syncs(m) {
		k.fetched.forget(m.GetNamespace(), m.GetName())
		return nil, true, nil
	}
	if t, ok := k.fetched.get(m); ok && t.stamp == "" {
		return nil, true, nil // this version was read and is skipped
	}
	full, err := k.virtual.Namespace(m.GetNamespace()).Get(ctx, m.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, true, nil // deleted since: the informer's delete follows
	}
	if err != nil {
		return nil, false, err
	}
	desired, skip, err := k.unstructuredKind.toHostObject(ctx, full)
	if err != nil {
		return nil, false, err
	}
	t := translated{resourceVersion: full.GetResourceVersion()}
	if desired != nil && !skip {
		if err := translate.Stamp(desired); err != nil {
			return nil, false, err
		}
		t.stamp = metaOf(desired).GetAnnotations()[translate.AnnotationTranslation]
	}
	k.fetched.put(m.GetNamespace(), m.GetName(), t)
	return desired, skip, nil
}

// fromHostObject: nothing comes back from the host for these kinds (no status).
func (fetchingKind) fromHostObject(context.Context, runtime.Object, runtime.Object) (runtime.Object, error) {
	return nil, nil
}

// metadataInformer is k's virtual informer from f, trimmed to identityOnly.
func metadataInformer(f metadatainformer.SharedInformerFactory, k metadataOnlyKind) (cache.SharedIndexInformer, error) {
	inf := f.ForResource(k.gvr()).Informer()
	return inf, inf.SetTransform(typedMetadata(k, identityOnly))
}

// identityOnly keeps what the controller reads of a virtual object's metadata: its identity,
// versions and deletion. Labels and annotations matter only to the translation, which reads the
// object in full, and kubectl's last-applied-configuration annotation is a copy of all of it.
func identityOnly(p *metav1.PartialObjectMetadata) {
	p.Labels, p.Annotations, p.OwnerReferences, p.ManagedFields = nil, nil, nil, nil
}

// hostMetadataInformer is the informer of k's twins from f (the host namespace's): their
// metadata is all the controller compares (ownership, identity, the translation's stamp), and
// their data, the tenant's, is not held a second time.
func hostMetadataInformer(f metadatainformer.SharedInformerFactory, k metadataOnlyKind) (cache.SharedIndexInformer, error) {
	inf := f.ForResource(k.gvr()).Informer()
	return inf, inf.SetTransform(typedMetadata(k, func(p *metav1.PartialObjectMetadata) { p.ManagedFields = nil }))
}

// typedMetadata is a transform that gives metadata objects k's kind, so that the events the
// controller records name the real object, and then trims them with trim.
func typedMetadata(k metadataOnlyKind, trim func(*metav1.PartialObjectMetadata)) cache.TransformFunc {
	tm := metav1.TypeMeta{APIVersion: k.gvr().GroupVersion().String(), Kind: k.kind()}
	return func(o any) (any, error) {
		if p, ok := o.(*metav1.PartialObjectMetadata); ok {
			p.TypeMeta = tm
			trim(p)
		}
		return o, nil
	}
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
