package supervisor

import (
	"context"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// ReasonNoHostCluster is the Warning event on a pod that a standalone virtual cluster cannot run.
const ReasonNoHostCluster = "NoHostCluster"

const noHostMessage = "no node will run this pod: this virtual cluster is standalone (vkube start without --host-kubeconfig) and has no nodes; " +
	"start vkube with --host-kubeconfig and --host-namespace to run its pods in a host cluster, or join a kubelet to it"

// explainUnrunnablePods says, once per pod, why a pod of a standalone virtual cluster stays
// Pending: no host runs it, and no node is there (a pod would otherwise wait in silence).
func explainUnrunnablePods(ctx context.Context, virtual *rest.Config, log *slog.Logger) error {
	client, err := kubernetes.NewForConfig(virtual)
	if err != nil {
		return err
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "vkube"})
	factory := informers.NewSharedInformerFactory(client, 0)
	nodes := factory.Core().V1().Nodes().Lister()
	var mu sync.Mutex
	told := map[types.UID]bool{}
	explain := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil {
			return
		}
		if ns, err := nodes.List(labels.Everything()); err != nil || len(ns) > 0 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if told[pod.UID] {
			return
		}
		told[pod.UID] = true
		recorder.Event(pod, corev1.EventTypeWarning, ReasonNoHostCluster, noHostMessage)
	}
	_, err = factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    explain,
		UpdateFunc: func(_, obj any) { explain(obj) },
		DeleteFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok {
				mu.Lock()
				delete(told, pod.UID)
				mu.Unlock()
			}
		},
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		broadcaster.Shutdown()
	}()
	log.Info("standalone: pods are stored, not run (no host cluster, no nodes); each one gets a " + ReasonNoHostCluster + " event saying so")
	return nil
}
