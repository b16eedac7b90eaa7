package syncer

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// typedKind is a synced kind whose watches are hot enough to want typed, protobuf informers
// (pods: every pod changes several times on both sides). Its listers still serve unstructured
// objects, converted on read, which costs less than decoding every watch event from JSON.
type typedKind interface {
	informers(virtual, host informers.SharedInformerFactory) (v, h cache.SharedIndexInformer)
}

// unstructuredLister serves a typed informer's objects as unstructured.
type unstructuredLister struct {
	typed cache.GenericLister
	gvk   schema.GroupVersionKind
}

func (l unstructuredLister) List(selector labels.Selector) ([]runtime.Object, error) {
	return convertAll(l.typed.List(selector))(l.gvk)
}

func (l unstructuredLister) Get(name string) (runtime.Object, error) {
	return toUnstructured(l.typed.Get(name))(l.gvk)
}

func (l unstructuredLister) ByNamespace(ns string) cache.GenericNamespaceLister {
	return unstructuredNamespaceLister{typed: l.typed.ByNamespace(ns), gvk: l.gvk}
}

type unstructuredNamespaceLister struct {
	typed cache.GenericNamespaceLister
	gvk   schema.GroupVersionKind
}

func (l unstructuredNamespaceLister) List(selector labels.Selector) ([]runtime.Object, error) {
	return convertAll(l.typed.List(selector))(l.gvk)
}

func (l unstructuredNamespaceLister) Get(name string) (runtime.Object, error) {
	return toUnstructured(l.typed.Get(name))(l.gvk)
}

func toUnstructured(obj runtime.Object, err error) func(schema.GroupVersionKind) (runtime.Object, error) {
	return func(gvk schema.GroupVersionKind) (runtime.Object, error) {
		if err != nil {
			return nil, err
		}
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
		return u, nil
	}
}

func convertAll(objs []runtime.Object, err error) func(schema.GroupVersionKind) ([]runtime.Object, error) {
	return func(gvk schema.GroupVersionKind) ([]runtime.Object, error) {
		if err != nil {
			return nil, err
		}
		out := make([]runtime.Object, 0, len(objs))
		for _, o := range objs {
			u, err := toUnstructured(o, nil)(gvk)
			if err != nil {
				return nil, err
			}
			out = append(out, u)
		}
		return out, nil
	}
}
