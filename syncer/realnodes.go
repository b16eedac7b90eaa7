package syncer

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// realNodes mirrors host nodes into the virtual cluster (sync.fromHost.nodes: all, or those
// matching a selector), so a virtual scheduler can place pods on them. Labels set in the virtual
// cluster are kept; the address and kubelet port are vkube's, so logs and exec still work.
type realNodes struct {
	virtual  kubernetes.Interface
	lister   cache.Indexer
	selector labels.Selector
	address  string
	port     int
	queue    workqueue.TypedRateLimitingInterface[string]
	log      *slog.Logger
}

// labelRealNode marks virtual nodes mirrored from host nodes.
const labelRealNode = "vkube.io/host-node"

func newRealNodes(host, virtual kubernetes.Interface, selector labels.Selector, address string, port int, log *slog.Logger) (*realNodes, informers.SharedInformerFactory) {
	f := informers.NewSharedInformerFactory(host, resync)
	inf := f.Core().V1().Nodes().Informer()
	r := &realNodes{virtual: virtual, lister: inf.GetIndexer(), selector: selector, address: address, port: port, log: log.With("resource", "nodes"),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "nodes"})}
	enqueue := func(o any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(o); err == nil {
			r.queue.Add(key)
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue})
	return r, f
}

func (r *realNodes) run(ctx context.Context) {
	defer r.queue.ShutDown()
	go func() {
		for {
			key, quit := r.queue.Get()
			if quit {
				return
			}
			if err := r.sync(ctx, key); err != nil {
				r.log.Info("node sync failed; retrying", "node", key, "error", err)
				r.queue.AddRateLimited(key)
			} else {
				r.queue.Forget(key)
			}
			r.queue.Done(key)
		}
	}()
	<-ctx.Done()
}

func (r *realNodes) sync(ctx context.Context, name string) error {
	obj, exists, err := r.lister.GetByKey(name)
	if err != nil {
		return err
	}
	api := r.virtual.CoreV1().Nodes()
	if !exists || !r.selector.Matches(labels.Set(obj.(*corev1.Node).Labels)) {
		live, err := api.Get(ctx, name, metav1.GetOptions{})
		if err == nil && live.Labels[labelRealNode] == "true" {
			return api.Delete(ctx, name, metav1.DeleteOptions{})
		}
		return nil
	}
	host := obj.(*corev1.Node)
	live, err := api.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		live, err = api.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelRealNode: "true"}}}, metav1.CreateOptions{})
	}
	if err != nil {
		return err
	}
	want := live.DeepCopy()
	if want.Labels == nil {
		want.Labels = map[string]string{}
	}
	for k, v := range host.Labels {
		want.Labels[k] = v
	}
	want.Labels[labelRealNode] = "true"
	want.Spec.Taints = host.Spec.Taints
	want.Spec.Unschedulable = host.Spec.Unschedulable
	if !equalJSON(want.ObjectMeta.Labels, live.Labels) || !equalJSON(want.Spec, live.Spec) {
		if live, err = api.Update(ctx, want, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	status := host.Status.DeepCopy()
	status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: r.address}, {Type: corev1.NodeHostName, Address: name}}
	status.DaemonEndpoints = corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(r.port)}}
	status.Images = nil
	for i := range status.Conditions {
		status.Conditions[i].LastHeartbeatTime = metav1.NewTime(time.Now())
	}
	live.Status = *status
	_, err = api.UpdateStatus(ctx, live, metav1.UpdateOptions{})
	return err
}
