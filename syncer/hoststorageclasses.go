package syncer

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"vkube.io/vkube/syncer/translate"
)

// hostStorageClasses shares the host's StorageClasses into the virtual cluster
// (sync.fromHost.storageClasses): same names, marked as copies, kept in step with the host (a
// tenant's edit is undone) and removed when the host class goes. Classes that virtual clusters
// synced to the host are not shared, and a tenant's own class of the same name is left alone.
type hostStorageClasses struct {
	virtual  kubernetes.Interface
	hosts    storagelisters.StorageClassLister
	virtuals storagelisters.StorageClassLister
	queue    workqueue.TypedRateLimitingInterface[string]
	recorder record.EventRecorder
	log      *slog.Logger
}

func newHostStorageClasses(host, virtual kubernetes.Interface, virtualInf informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger) (*hostStorageClasses, informers.SharedInformerFactory) {
	f := informers.NewSharedInformerFactory(host, resync)
	hinf, vinf := f.Storage().V1().StorageClasses(), virtualInf.Storage().V1().StorageClasses()
	s := &hostStorageClasses{virtual: virtual, hosts: hinf.Lister(), virtuals: vinf.Lister(), recorder: recorder,
		log: log.With("resource", "host storageclasses"),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "hoststorageclasses"})}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    s.enqueue,
		UpdateFunc: func(_, o any) { s.enqueue(o) },
		DeleteFunc: s.enqueue,
	}
	_, _ = hinf.Informer().AddEventHandler(h)
	_, _ = vinf.Informer().AddEventHandler(h)
	return s, f
}

func (s *hostStorageClasses) enqueue(o any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(o); err == nil {
		s.queue.Add(key)
	}
}

func (s *hostStorageClasses) run(ctx context.Context) {
	defer s.queue.ShutDown()
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		for {
			name, quit := s.queue.Get()
			if quit {
				return
			}
			if err := s.reconcile(ctx, name); err != nil {
				s.log.Info("sync failed; retrying", "object", name, "error", err)
				s.queue.AddRateLimited(name)
			} else {
				s.queue.Forget(name)
			}
			s.queue.Done(name)
		}
	}, time.Second)
	<-ctx.Done()
}

func (s *hostStorageClasses) reconcile(ctx context.Context, name string) error {
	host, err := s.hosts.Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if host != nil && host.Labels[translate.LabelManagedBy] != "" {
		host = nil // a virtual cluster's class, not the host's own
	}
	virt, err := s.virtuals.Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	classes := s.virtual.StorageV1().StorageClasses()
	switch {
	case host == nil && virt != nil && isHostCopy(virt):
		uid := virt.UID
		err := classes.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	case host == nil:
		return nil
	case virt == nil:
		_, err := classes.Create(ctx, hostClassCopy(host), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil // the tenant was faster; its class is seen on the next event
		}
		return err
	case !isHostCopy(virt):
		s.recorder.Eventf(virt, corev1.EventTypeWarning, "NameConflict", "the host's StorageClass %s is not shared: this virtual cluster has its own of that name", name)
		return nil
	}
	want := hostClassCopy(host)
	if sameClass(want, virt) {
		return nil
	}
	if !sameImmutable(want, virt) {
		// Provisioner, parameters and binding mode cannot change in place.
		uid := virt.UID
		err := classes.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return err
		}
		return nil // the delete event brings it back, recreated
	}
	u := virt.DeepCopy()
	u.Labels, u.Annotations, u.AllowVolumeExpansion = want.Labels, want.Annotations, want.AllowVolumeExpansion
	_, err = classes.Update(ctx, u, metav1.UpdateOptions{})
	return err
}

// hostClassCopy is the virtual copy of a host StorageClass: the same class, marked.
func hostClassCopy(h *storagev1.StorageClass) *storagev1.StorageClass {
	c := &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: h.Name, Labels: map[string]string{}, Annotations: map[string]string{}},
		Provisioner: h.Provisioner, Parameters: h.Parameters, ReclaimPolicy: h.ReclaimPolicy, MountOptions: h.MountOptions,
		AllowVolumeExpansion: h.AllowVolumeExpansion, VolumeBindingMode: h.VolumeBindingMode, AllowedTopologies: h.AllowedTopologies,
	}
	for k, v := range h.Labels {
		c.Labels[k] = v
	}
	for k, v := range h.Annotations {
		if k != "kubectl.kubernetes.io/last-applied-configuration" {
			c.Annotations[k] = v
		}
	}
	c.Labels[translate.LabelFromHost] = "true"
	return c
}

func sameImmutable(a, b *storagev1.StorageClass) bool {
	return a.Provisioner == b.Provisioner && equalJSON(a.Parameters, b.Parameters) && equalJSON(a.ReclaimPolicy, b.ReclaimPolicy) &&
		equalJSON(a.MountOptions, b.MountOptions) && equalJSON(a.VolumeBindingMode, b.VolumeBindingMode) && equalJSON(a.AllowedTopologies, b.AllowedTopologies)
}

func sameClass(a, b *storagev1.StorageClass) bool {
	return sameImmutable(a, b) && equalJSON(a.Labels, b.Labels) && equalJSON(a.Annotations, b.Annotations) &&
		equalJSON(a.AllowVolumeExpansion, b.AllowVolumeExpansion)
}
