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
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"

	"vkube.io/vkube/syncer/translate"
)

// controller syncs one kind virtual → host and, for status, host → virtual. The virtual object
// is the source of truth: a twin deleted by someone else is recreated, and a twin whose virtual
// object is gone is deleted. Host objects vkube does not own are never touched.
type controller struct {
	res     objectKind
	tctx    translate.Context
	virtual objectClient
	host    objectClient
	vLister cache.GenericLister
	hLister cache.GenericLister
	// hostNS is where the twins live: the host namespace, or "" for cluster-scoped kinds.
	hostNS   string
	queue    priorityqueue.PriorityQueue[string]
	recorder record.EventRecorder
	log      *slog.Logger
}

// newController drives res; hostNS is "" for a cluster-scoped kind.
func newController(res objectKind, tctx translate.Context, hostNS string, virtual, host objectClient, vInf, hInf cache.SharedIndexInformer, recorder record.EventRecorder, log *slog.Logger) *controller {
	gvr := res.gvr()
	c := &controller{
		res: res, tctx: tctx, virtual: virtual, host: host,
		vLister:  cache.NewGenericLister(vInf.GetIndexer(), gvr.GroupResource()),
		hLister:  cache.NewGenericLister(hInf.GetIndexer(), gvr.GroupResource()),
		hostNS:   hostNS,
		queue:    newQueue(gvr.Resource),
		recorder: recorder,
		log:      log.With("resource", gvr.Resource),
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
		hostName = translate.HostClusterScopedName(name, c.tctx.HostNamespace, c.tctx.VCluster)
	}
	live, err := c.liveHost(hostName)
	if err != nil {
		return err
	}
	legacy := c.legacyTwin(ns, name, hostName)
	virtual, err := listerGet(c.vLister, ns, name)
	if apierrors.IsNotFound(err) {
		gone := translate.Identity{Namespace: ns, Name: name}
		if err := c.deleteTwin(ctx, gone, legacy); err != nil {
			return err
		}
		return c.deleteTwin(ctx, gone, live)
	}
	if err != nil {
		return err
	}
	vmeta := metaOf(virtual)
	id := translate.IdentityOf(kindOf(c.res.gvr().Resource), vmeta)
	if legacy != nil {
		if live == nil && hostBound(legacy) {
			// A volume bound to its claim under the old name keeps it: deleting it would leave
			// the claim Lost (its volumeName is immutable).
			live = legacy
		} else if err := c.deleteTwin(ctx, id, legacy); err != nil {
			return err
		}
	}
	deleting := vmeta.GetDeletionTimestamp() != nil
	if live != nil && c.tctx.Owned(metaOf(live)) {
		switch id.Match(metaOf(live).GetAnnotations()) {
		case translate.Foreign:
			if !deleting {
				rec := translate.Recorded(metaOf(live).GetAnnotations())
				c.recorder.Eventf(virtual, corev1.EventTypeWarning, "NameConflict", "host object %s is the twin of %s %s, not of this object; not touching it", objectKey(c.hostNS, metaOf(live).GetName()), rec.Kind, rec)
				c.queue.AddAfter(key, time.Minute)
				return nil
			}
			live = nil // another object's: this one's deletion goes on without it
		case translate.Earlier:
			if _, ok := c.res.(replacing); ok && !deleting {
				if err := c.deleteTwin(ctx, id, live); err != nil {
					return err
				}
				return errRequeue // created anew once the earlier twin is gone
			}
		}
	}
	if deleting {
		if f, ok := c.res.(finalizing); ok {
			return f.finalize(ctx, virtual, live)
		}
		return c.deleteTwin(ctx, id, live)
	}
	if k, ok := c.res.(knowingUpToDate); ok && live != nil && c.tctx.Owned(metaOf(live)) && k.upToDate(virtual, live) {
		return nil
	}
	desired, skip, err := c.res.toHostObject(ctx, virtual)
	if errors.Is(err, errNotScheduled) || errors.Is(err, errSkipFinished) {
		return err
	}
	if err != nil {
		c.recorder.Eventf(virtual, corev1.EventTypeWarning, "SyncError", "cannot translate for the host: %v", err)
		return nil
	}
	if skip {
		return c.deleteTwin(ctx, id, live)
	}
	if err := translate.Stamp(desired); err != nil {
		return err
	}
	dmeta := metaOf(desired)
	switch {
	case live == nil:
		created, err := c.host.create(ctx, c.hostNS, desired)
		if apierrors.IsAlreadyExists(err) {
			// The informer only sees objects vkube owns: one it does not see is someone else's.
			other, gerr := c.host.get(ctx, c.hostNS, dmeta.GetName())
			if gerr == nil && !c.tctx.Owned(metaOf(other)) {
				c.recorder.Eventf(virtual, corev1.EventTypeWarning, "NameConflict", "host object %s exists and is not managed by this virtual cluster; not touching it", objectKey(c.hostNS, dmeta.GetName()))
				c.queue.AddAfter(key, time.Minute)
				return nil
			}
			return fmt.Errorf("host object %s appeared while creating it", dmeta.GetName())
		}
		if err != nil {
			c.recorder.Eventf(virtual, corev1.EventTypeWarning, "SyncError", "the host cluster refused %s %s: %v", kindOf(c.res.gvr().Resource), dmeta.GetName(), hostMessage(err))
			return err
		}
		live = created
	case !c.tctx.Owned(metaOf(live)):
		c.recorder.Eventf(virtual, corev1.EventTypeWarning, "NameConflict", "host object %s exists and is not managed by this virtual cluster; not touching it", objectKey(c.hostNS, metaOf(live).GetName()))
		return nil
	case translate.Changed(dmeta, metaOf(live)):
		if s, ok := c.res.(updatingSubresources); ok {
			if live, err = s.updateSubresources(ctx, desired, live); err != nil {
				c.recorder.Eventf(virtual, corev1.EventTypeWarning, "SyncError", "the host cluster refused the update of %s: %v", dmeta.GetName(), hostMessage(err))
				return err
			}
		}
		update := c.res.forUpdateObject(desired, live)
		metaOf(update).SetResourceVersion(metaOf(live).GetResourceVersion())
		updated, err := c.host.update(ctx, c.hostNS, update)
		if err != nil {
			if apierrors.IsConflict(err) {
				return err
			}
			c.recorder.Eventf(virtual, corev1.EventTypeWarning, "SyncError", "the host cluster refused the update of %s: %v", dmeta.GetName(), hostMessage(err))
			return err
		}
		live = updated
	}
	back, err := c.res.fromHostObject(ctx, live, virtual)
	if err != nil || back == nil {
		return err
	}
	syncedFromHost.WithLabelValues(c.res.gvr().Resource).Inc()
	_, err = c.virtual.updateStatus(ctx, ns, back)
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		c.queue.AddAfter(key, 200*time.Millisecond)
		return nil
	}
	return err
}

// replacing kinds delete the twin of an earlier object of the same name and create a new one,
// where other kinds update it: a pod's spec cannot change.
type replacing interface{ replacesEarlierTwins() }

// legacyTwin is the cluster-scoped twin this virtual cluster made for the object ns/name under
// the name it had before names held the host namespace, if there is one: it is stale. Only a twin
// marked with this host namespace and recording this object counts (the legacy name may be
// another object's new name).
func (c *controller) legacyTwin(ns, name, hostName string) runtime.Object {
	if c.hostNS != "" || ns != "" {
		return nil
	}
	old := translate.LegacyClusterScopedName(name, c.tctx.VCluster)
	if old == hostName {
		return nil
	}
	obj, err := c.hLister.Get(old)
	if err != nil {
		return nil
	}
	m := metaOf(obj)
	labels := m.GetLabels()
	if labels[translate.LabelManagedBy] != c.tctx.VCluster || labels[translate.LabelHostNamespace] != c.tctx.HostNamespace ||
		(translate.Identity{Name: name}).Match(m.GetAnnotations()) == translate.Foreign {
		return nil
	}
	return obj
}

// hostBound: the host bound this twin (a PersistentVolume to its claim).
func hostBound(obj runtime.Object) bool {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return false
	}
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	return phase == string(corev1.VolumeBound)
}

func (c *controller) liveHost(name string) (runtime.Object, error) {
	obj, err := listerGet(c.hLister, c.hostNS, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}

// metaOf is an object's metadata; every synced object has some.
func metaOf(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil {
		return &metav1.ObjectMeta{}
	}
	return m
}

func nameOf(obj runtime.Object) string { return metaOf(obj).GetName() }

// freshTwin is how long a host twin may exist before its virtual object: the Service webhook
// creates the twin while the virtual create is still in flight.
const freshTwin = 30 * time.Second

// deleteTwin deletes the host twin of the virtual object id, only if this virtual cluster owns it
// and it records id's namespace and name (any UID: a twin of an earlier object of the name is
// stale too). id is the queue key alone when the virtual object is gone.
func (c *controller) deleteTwin(ctx context.Context, id translate.Identity, liveObj runtime.Object) error {
	if liveObj == nil {
		return nil
	}
	live := metaOf(liveObj)
	if !c.tctx.Owned(live) || live.GetDeletionTimestamp() != nil {
		return nil
	}
	if id.Match(live.GetAnnotations()) == translate.Foreign {
		c.log.Info("not deleting another object's twin", "object", id.String(), "twin", live.GetName(), "of", translate.Recorded(live.GetAnnotations()).String())
		return nil
	}
	if age := time.Since(live.GetCreationTimestamp().Time); c.res.gvr().Resource == "services" && age < freshTwin {
		ann := live.GetAnnotations()
		c.queue.AddAfter(objectKey(ann[translate.AnnotationNamespace], ann[translate.AnnotationName]), freshTwin-age)
		return nil
	}
	uid := live.GetUID()
	err := c.host.delete(ctx, c.hostNS, live.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// hostMessage is the host's own words for a refusal, without client-go's wrapping.
func hostMessage(err error) string {
	if s, ok := err.(apierrors.APIStatus); ok {
		return s.Status().Message
	}
	return err.Error()
}
