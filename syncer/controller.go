package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"

	"vkube.io/vkube/syncer/translate"
)

// updatable lets a kind say which parts of a live host object an update may change (a Service's
// clusterIP and most of a Pod's spec are immutable).
type updatable interface {
	forUpdate(desired, live *unstructured.Unstructured) *unstructured.Unstructured
}

// controller syncs one kind virtual → host and, for status, host → virtual. The virtual object
// is the source of truth: a twin deleted by someone else is recreated, and a twin whose virtual
// object is gone is deleted. Host objects vkube does not own are never touched.
type controller struct {
	res     syncedKind
	tctx    translate.Context
	virtual dynamic.Interface
	host    dynamic.NamespaceableResourceInterface
	vLister cache.GenericLister
	hLister cache.GenericLister
	// hostNS is where the twins live: the host namespace, or "" for cluster-scoped kinds.
	hostNS   string
	queue    priorityqueue.PriorityQueue[string]
	recorder record.EventRecorder
	log      *slog.Logger
}

func newController(res syncedKind, tctx translate.Context, virtual, host dynamic.Interface, vInf, hInf cache.SharedIndexInformer, recorder record.EventRecorder, log *slog.Logger) *controller {
	gvr := res.gvr()
	c := &controller{
		res: res, tctx: tctx, virtual: virtual, host: host.Resource(gvr),
		vLister:  cache.NewGenericLister(vInf.GetIndexer(), gvr.GroupResource()),
		hLister:  cache.NewGenericLister(hInf.GetIndexer(), gvr.GroupResource()),
		hostNS:   tctx.HostNamespace,
		queue:    newQueue(gvr.Resource),
		recorder: recorder,
		log:      log.With("resource", gvr.Resource),
	}
	if isClusterScoped(res) {
		c.hostNS = ""
	}
	_, _ = vInf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    func(o any, initial bool) { c.enqueueVirtual(o, priorityOf(!initial)) },
		UpdateFunc: func(old, o any) { c.enqueueVirtual(o, priorityOf(!isResync(old, o))) },
		DeleteFunc: func(o any) { c.enqueueVirtual(o, toHostPriority) },
	})
	_, _ = hInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueHost,
		UpdateFunc: func(_, o any) { c.enqueueHost(o) },
		DeleteFunc: c.enqueueHost,
	})
	return c
}

// enqueue adds a virtual namespace/name key; other controllers use it when what they own
// changes whether this object is synced.
func (c *controller) enqueue(key string) { c.queue.AddWithOpts(urgent, key) }

func (c *controller) enqueueVirtual(obj any, priority int) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.AddWithOpts(priorityqueue.AddOpts{Priority: &priority}, key)
	}
}

func (c *controller) enqueueHost(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil || !c.tctx.Owned(m) {
		return
	}
	ann := m.GetAnnotations()
	if ann[translate.AnnotationName] == "" {
		return
	}
	c.queue.Add(objectKey(ann[translate.AnnotationNamespace], ann[translate.AnnotationName]))
}

// objectKey is the informer key of an object: namespace/name, or name when cluster-scoped.
func objectKey(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// listerGet reads an object from a lister by namespace ("" for cluster-scoped) and name.
func listerGet(l cache.GenericLister, ns, name string) (runtime.Object, error) {
	if ns == "" {
		return l.Get(name)
	}
	return l.ByNamespace(ns).Get(name)
}

func (c *controller) run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	for i := 0; i < workers; i++ {
		go wait.UntilWithContext(ctx, c.worker, time.Second)
	}
	<-ctx.Done()
}

func (c *controller) worker(ctx context.Context) {
	for {
		key, quit := c.queue.Get()
		if quit {
			return
		}
		began := time.Now()
		err := c.reconcile(ctx, key)
		reconcileDuration.WithLabelValues(c.res.gvr().Resource).Observe(time.Since(began).Seconds())
		switch {
		case errors.Is(err, errRequeue):
			c.queue.AddAfter(key, 500*time.Millisecond)
			err = nil
		case errors.Is(err, errSkipFinished), errors.Is(err, errNotScheduled):
			err = nil
			c.queue.Forget(key)
		case err != nil:
			c.log.Info("sync failed; retrying", "object", key, "error", err)
			c.queue.AddRateLimited(key)
		default:
			c.queue.Forget(key)
		}
		c.queue.Done(key)
		syncTotal.WithLabelValues(c.res.gvr().Resource, resultLabel(err)).Inc()
	}
}

func (c *controller) reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	hostName := translate.HostName(name, ns, c.tctx.VCluster)
	if ns == "" {
		hostName = translate.HostClusterScopedName(name, c.tctx.VCluster)
	}
	live, err := c.liveHost(hostName)
	if err != nil {
		return err
	}
	obj, err := listerGet(c.vLister, ns, name)
	if apierrors.IsNotFound(err) {
		return c.deleteTwin(ctx, live)
	}
	if err != nil {
		return err
	}
	virtual := obj.(*unstructured.Unstructured)
	if virtual.GetDeletionTimestamp() != nil {
		if f, ok := c.res.(finalizing); ok {
			return f.finalize(ctx, virtual, live)
		}
		return c.deleteTwin(ctx, live)
	}
	desired, skip, err := c.res.toHost(ctx, virtual)
	if errors.Is(err, errNotScheduled) || errors.Is(err, errSkipFinished) {
		return err
	}
	if err != nil {
		c.recorder.Eventf(virtual, corev1.EventTypeWarning, "SyncError", "cannot translate for the host: %v", err)
		return nil
	}
	if skip {
		return c.deleteTwin(ctx, live)
	}
	translate.Stamp(desired)
	switch {
	case live == nil:
		created, err := c.host.Namespace(c.hostNS).Create(ctx, desired, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// The informer only sees objects vkube owns: one it does not see is someone else's.
			other, gerr := c.host.Namespace(c.hostNS).Get(ctx, desired.GetName(), metav1.GetOptions{})
			if gerr == nil && !c.tctx.Owned(other) {
				c.recorder.Eventf(virtual, corev1.EventTypeWarning, "NameConflict", "host object %s exists and is not managed by this virtual cluster; not touching it", objectKey(c.hostNS, other.GetName()))
				c.queue.AddAfter(key, time.Minute)
				return nil
			}
			return fmt.Errorf("host object %s appeared while creating it", desired.GetName())
		}
		if err != nil {
			c.recorder.Eventf(virtual, corev1.EventTypeWarning, "SyncError", "the host cluster refused %s %s: %v", virtual.GetKind(), desired.GetName(), hostMessage(err))
			return err
		}
		live = created
	case !c.tctx.Owned(live):
		c.recorder.Eventf(virtual, corev1.EventTypeWarning, "NameConflict", "host object %s exists and is not managed by this virtual cluster; not touching it", objectKey(c.hostNS, live.GetName()))
		return nil
	case translate.Changed(desired, live):
		update := desired
		if u, ok := c.res.(updatable); ok {
			update = u.forUpdate(desired, live)
		}
		update.SetResourceVersion(live.GetResourceVersion())
		updated, err := c.host.Namespace(c.hostNS).Update(ctx, update, metav1.UpdateOptions{})
		if err != nil {
			if apierrors.IsConflict(err) {
				return err
			}
			c.recorder.Eventf(virtual, corev1.EventTypeWarning, "SyncError", "the host cluster refused the update of %s: %v", desired.GetName(), hostMessage(err))
			return err
		}
		live = updated
	}
	back, err := c.res.fromHost(ctx, live, virtual)
	if err != nil || back == nil {
		return err
	}
	syncedFromHost.WithLabelValues(c.res.gvr().Resource).Inc()
	_, err = c.virtual.Resource(c.res.gvr()).Namespace(ns).UpdateStatus(ctx, back, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		c.queue.AddAfter(key, 200*time.Millisecond)
		return nil
	}
	return err
}

func (c *controller) liveHost(name string) (*unstructured.Unstructured, error) {
	obj, err := listerGet(c.hLister, c.hostNS, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return obj.(*unstructured.Unstructured), nil
}

// freshTwin is how long a host twin may exist before its virtual object: the Service webhook
// creates the twin while the virtual create is still in flight.
const freshTwin = 30 * time.Second

// deleteTwin deletes the host twin, only if this virtual cluster owns it.
func (c *controller) deleteTwin(ctx context.Context, live *unstructured.Unstructured) error {
	if live == nil || !c.tctx.Owned(live) || live.GetDeletionTimestamp() != nil {
		return nil
	}
	if age := time.Since(live.GetCreationTimestamp().Time); c.res.gvr().Resource == "services" && age < freshTwin {
		ann := live.GetAnnotations()
		c.queue.AddAfter(objectKey(ann[translate.AnnotationNamespace], ann[translate.AnnotationName]), freshTwin-age)
		return nil
	}
	uid := live.GetUID()
	err := c.host.Namespace(c.hostNS).Delete(ctx, live.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// finalizing kinds finish a virtual deletion themselves (pods stay Terminating until the host pod
// is gone, since no kubelet will do it in the virtual cluster).
type finalizing interface {
	finalize(ctx context.Context, virtual, live *unstructured.Unstructured) error
}

// hostMessage is the host's own words for a refusal, without client-go's wrapping.
func hostMessage(err error) string {
	if s, ok := err.(apierrors.APIStatus); ok {
		return s.Status().Message
	}
	return err.Error()
}
