package isolation

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	psapi "k8s.io/pod-security-admission/api"
)

// PSSLabels are the labels that make the virtual apiserver's PodSecurity admission enforce level
// in a namespace.
func PSSLabels(level string) map[string]string {
	return map[string]string{psapi.EnforceLevelLabel: level, psapi.EnforceVersionLabel: psapi.VersionLatest}
}

// EnforcePSS labels every namespace of the virtual cluster to enforce the Pod Security Standard
// level (privileged, baseline or restricted), so the virtual apiserver refuses a pod that
// violates it with PodSecurity admission's own message. It returns once the namespaces that
// exist are labelled, and keeps every namespace so labelled, new ones and ones a tenant
// relabels, until ctx ends.
func EnforcePSS(ctx context.Context, virtual kubernetes.Interface, level string) error {
	if _, err := psapi.ParseLevel(level); err != nil {
		return fmt.Errorf("policies.podSecurityStandard: %w", err)
	}
	want := PSSLabels(level)
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": want}})
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(virtual, 10*time.Minute)
	nsInformer := factory.Core().V1().Namespaces()
	lister := nsInformer.Lister()
	queue := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "pod-security-namespaces"})
	enqueue := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok && !labelled(ns, want) {
			queue.Add(ns.Name)
		}
	}
	if _, err := nsInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, o any) { enqueue(o) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), nsInformer.Informer().HasSynced) {
		queue.ShutDown()
		return fmt.Errorf("pod security: the virtual namespaces never listed: %w", ctx.Err())
	}
	label := func(ctx context.Context, name string) error {
		return enforceOn(ctx, virtual, lister, name, want, patch)
	}
	// The namespaces that exist are labelled before this returns, so that a pod created once
	// the virtual cluster reports ready is already checked.
	existing, err := lister.List(labels.Everything())
	if err != nil {
		queue.ShutDown()
		return err
	}
	for _, ns := range existing {
		if err := retry.OnError(retry.DefaultBackoff, func(error) bool { return true }, func() error { return label(ctx, ns.Name) }); err != nil {
			queue.ShutDown()
			return fmt.Errorf("pod security: labelling namespace %s: %w", ns.Name, err)
		}
	}
	go func() {
		<-ctx.Done()
		queue.ShutDown()
	}()
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		for {
			name, quit := queue.Get()
			if quit {
				return
			}
			if err := label(ctx, name); err != nil {
				queue.AddRateLimited(name)
			} else {
				queue.Forget(name)
			}
			queue.Done(name)
		}
	}, time.Second)
	return nil
}

// enforceOn patches the labels onto one namespace unless it already carries them.
func enforceOn(ctx context.Context, virtual kubernetes.Interface, lister corelisters.NamespaceLister, name string, want map[string]string, patch []byte) error {
	ns, err := lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if labelled(ns, want) {
		return nil
	}
	_, err = virtual.CoreV1().Namespaces().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "vkube-pod-security"})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func labelled(ns *corev1.Namespace, want map[string]string) bool {
	for k, v := range want {
		if ns.Labels[k] != v {
			return false
		}
	}
	return true
}
