package syncer

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"vkube.io/vkube/syncer/translate"
)

// events copies host events about synced objects (image pulls, probes, OOM kills, scheduling)
// onto their virtual objects, so `kubectl describe` in the virtual cluster tells the story.
type events struct {
	virtual kubernetes.Interface
	hosted  map[string]cache.GenericLister // host kind → lister of owned host objects
	tctx    translate.Context
	words   eventWords
	queue   workqueue.TypedRateLimitingInterface[string]
	lister  cache.Indexer
	log     *slog.Logger
}

func newEvents(host kubernetes.Interface, virtual kubernetes.Interface, tctx translate.Context, hosted map[string]cache.GenericLister, log *slog.Logger) (*events, informers.SharedInformerFactory) {
	f := informers.NewSharedInformerFactoryWithOptions(host, resync, informers.WithNamespace(tctx.HostNamespace))
	inf := f.Core().V1().Events().Informer()
	e := &events{virtual: virtual, hosted: hosted, tctx: tctx, words: newEventWords(tctx.HostNamespace, tctx.VCluster), lister: inf.GetIndexer(), log: log.With("resource", "events"),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "events"})}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { e.enqueue(o) },
		UpdateFunc: func(_, o any) { e.enqueue(o) },
	})
	return e, f
}

func (e *events) enqueue(o any) {
	if key, err := cache.MetaNamespaceKeyFunc(o); err == nil {
		e.queue.Add(key)
	}
}

func (e *events) run(ctx context.Context) {
	defer e.queue.ShutDown()
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		for {
			key, quit := e.queue.Get()
			if quit {
				return
			}
			if err := e.copy(ctx, key); err != nil {
				e.queue.AddRateLimited(key)
			} else {
				e.queue.Forget(key)
			}
			e.queue.Done(key)
		}
	}, time.Second)
	<-ctx.Done()
}

func (e *events) copy(ctx context.Context, key string) error {
	obj, ok, err := e.lister.GetByKey(key)
	if err != nil || !ok {
		return err
	}
	ev := obj.(*corev1.Event)
	lister, ok := e.hosted[ev.InvolvedObject.Kind]
	if !ok {
		return nil
	}
	hostObj, err := lister.ByNamespace(e.tctx.HostNamespace).Get(ev.InvolvedObject.Name)
	if err != nil {
		return nil
	}
	owner := metaOf(hostObj)
	ann := owner.GetAnnotations()
	ns, name := ann[translate.AnnotationNamespace], ann[translate.AnnotationName]
	if !e.tctx.Owned(owner) || name == "" {
		return nil
	}
	// An event names its object by name and UID: one about an earlier twin of the name (a pod
	// replaced, another object's twin an older vkube named alike) is not this object's story.
	if ev.InvolvedObject.UID != "" && ev.InvolvedObject.UID != owner.GetUID() {
		return nil
	}
	vobj := ev.InvolvedObject
	vobj.Namespace, vobj.Name, vobj.ResourceVersion = ns, name, ""
	vobj.UID = "" // the virtual UID is in the annotation; the host UID means nothing in the virtual cluster
	if uid := ann[translate.AnnotationUID]; uid != "" {
		vobj.UID = typesUID(uid)
	}
	want := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: translate.SafeName(name + "." + string(ev.UID)[:8]), Namespace: ns},
		InvolvedObject:      vobj,
		Reason:              ev.Reason,
		Message:             e.words.virtual(ev.Message, ev.InvolvedObject.Name, ns, name),
		Type:                ev.Type,
		Source:              ev.Source,
		FirstTimestamp:      ev.FirstTimestamp,
		LastTimestamp:       ev.LastTimestamp,
		Count:               ev.Count,
		EventTime:           ev.EventTime,
		ReportingController: ev.ReportingController,
		ReportingInstance:   ev.ReportingInstance,
		Action:              ev.Action,
	}
	api := e.virtual.CoreV1().Events(ns)
	// Most events are new: create first, and read the copy only when it exists already.
	_, err = api.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsNotFound(err) {
		return nil // the virtual namespace is gone
	}
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	live, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	if err != nil || (live.Count == want.Count && live.Message == want.Message) {
		return err
	}
	live.Count, live.Message, live.LastTimestamp = want.Count, want.Message, want.LastTimestamp
	_, err = api.Update(ctx, live, metav1.UpdateOptions{})
	return err
}
