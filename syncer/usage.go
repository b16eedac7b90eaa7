package syncer

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// usage answers "does a virtual pod use this ConfigMap/Secret?" from the pod informer's cache.
type usage struct{ pods corelisters.PodLister }

func newUsage(pods corelisters.PodLister) *usage { return &usage{pods: pods} }

func (u *usage) configMap(namespace, name string) bool { return u.uses(namespace, name, true) }
func (u *usage) secret(namespace, name string) bool    { return u.uses(namespace, name, false) }

func (u *usage) uses(namespace, name string, configMap bool) bool {
	list, err := u.pods.Pods(namespace).List(labels.Everything())
	if err != nil {
		return false
	}
	for _, p := range list {
		cms, secs := podReferences(p)
		refs := secs
		if configMap {
			refs = cms
		}
		for _, r := range refs {
			if r == name {
				return true
			}
		}
	}
	return false
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
