package syncer

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// usedByIndex indexes virtual pods by the ConfigMaps and Secrets they reference, so that "does a
// pod use this object?" costs one index lookup, not a walk over the namespace's pods on every
// ConfigMap and Secret reconcile (O(objects × pods) per resync).
const usedByIndex = "usedBy"

func usedByKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// podUsage is the index function of usedByIndex.
func podUsage(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	cms, secs := podReferences(pod)
	keys := make([]string, 0, len(cms)+len(secs))
	for _, n := range cms {
		keys = append(keys, usedByKey("configmap", pod.Namespace, n))
	}
	for _, n := range secs {
		keys = append(keys, usedByKey("secret", pod.Namespace, n))
	}
	return keys, nil
}

// usage answers "does a virtual pod use this ConfigMap/Secret?" from the pod informer's index.
type usage struct{ pods cache.Indexer }

// newUsage indexes the pod informer (before it starts) by the objects its pods use.
func newUsage(pods cache.SharedIndexInformer) (*usage, error) {
	if err := pods.AddIndexers(cache.Indexers{usedByIndex: podUsage}); err != nil {
		return nil, err
	}
	return &usage{pods: pods.GetIndexer()}, nil
}

func (u *usage) configMap(namespace, name string) bool { return u.uses("configmap", namespace, name) }
func (u *usage) secret(namespace, name string) bool    { return u.uses("secret", namespace, name) }

func (u *usage) uses(kind, namespace, name string) bool {
	keys, err := u.pods.IndexKeys(usedByIndex, usedByKey(kind, namespace, name))
	return err == nil && len(keys) > 0
}

// enqueueRefs re-evaluates every ConfigMap and Secret a pod references.
func (u *usage) enqueueRefs(obj any, cms, secs *controller) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	c, s := podReferences(pod)
	for _, n := range c {
		cms.enqueue(pod.Namespace + "/" + n)
	}
	for _, n := range s {
		secs.enqueue(pod.Namespace + "/" + n)
	}
}
