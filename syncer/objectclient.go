package syncer

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// objectClient writes one kind in one cluster, in the form its informers hold; ns is "" for
// cluster-scoped kinds.
type objectClient interface {
	create(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error)
	update(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error)
	updateStatus(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error)
	get(ctx context.Context, ns, name string) (runtime.Object, error)
	delete(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error
}

// dynamicObjects writes unstructured objects, as JSON.
type dynamicObjects struct {
	dynamic.NamespaceableResourceInterface
}

func (c dynamicObjects) create(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error) {
	return orNil(c.Namespace(ns).Create(ctx, obj.(*unstructured.Unstructured), metav1.CreateOptions{}))
}

func (c dynamicObjects) update(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error) {
	return orNil(c.Namespace(ns).Update(ctx, obj.(*unstructured.Unstructured), metav1.UpdateOptions{}))
}

func (c dynamicObjects) updateStatus(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error) {
	return orNil(c.Namespace(ns).UpdateStatus(ctx, obj.(*unstructured.Unstructured), metav1.UpdateOptions{}))
}

func (c dynamicObjects) get(ctx context.Context, ns, name string) (runtime.Object, error) {
	return orNil(c.Namespace(ns).Get(ctx, name, metav1.GetOptions{}))
}

func (c dynamicObjects) delete(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error {
	return c.Namespace(ns).Delete(ctx, name, opts)
}

// orNil keeps a failed call's nil object a nil interface.
func orNil(u *unstructured.Unstructured, err error) (runtime.Object, error) {
	if u == nil {
		return nil, err
	}
	return u, err
}

// typedObjects writes typed objects through a REST client of their group, as protobuf when the
// client speaks it (see protobuf).
type typedObjects struct {
	client    rest.Interface
	resource  string
	newObject func() runtime.Object
}

func (c typedObjects) do(ctx context.Context, r *rest.Request) (runtime.Object, error) {
	out := c.newObject()
	if err := r.Do(ctx).Into(out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c typedObjects) create(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error) {
	return c.do(ctx, c.client.Post().Namespace(ns).Resource(c.resource).Body(obj))
}

func (c typedObjects) update(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error) {
	return c.do(ctx, c.client.Put().Namespace(ns).Resource(c.resource).Name(nameOf(obj)).Body(obj))
}

func (c typedObjects) updateStatus(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error) {
	return c.do(ctx, c.client.Put().Namespace(ns).Resource(c.resource).Name(nameOf(obj)).SubResource("status").Body(obj))
}

func (c typedObjects) get(ctx context.Context, ns, name string) (runtime.Object, error) {
	return c.do(ctx, c.client.Get().Namespace(ns).Resource(c.resource).Name(name))
}

func (c typedObjects) delete(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error {
	return c.client.Delete().Namespace(ns).Resource(c.resource).Name(name).Body(&opts).Do(ctx).Error()
}
