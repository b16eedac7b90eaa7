package syncer

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"vkube.io/vkube/syncer/translate"
)

// pods syncs Pods: the host schedules and runs them; their status, node and IP come back, and a
// virtual pod is bound to a fake node named after the host node it runs on.
type pods struct {
	tctx     translate.Context
	cfg      *Config
	virtual  kubernetes.Interface
	host     kubernetes.Interface
	services corelisters.ServiceLister
	tokens   *tokens
	nodes    *fakeNodes
	// hostPods is the informer cache of the host pods vkube owns (set once the controllers exist).
	hostPods cache.GenericLister
}

func (pods) gvr() schema.GroupVersionResource { return corev1.SchemeGroupVersion.WithResource("pods") }

func (pods) informers(virtual, host informers.SharedInformerFactory) (v, h cache.SharedIndexInformer) {
	return virtual.Core().V1().Pods().Informer(), host.Core().V1().Pods().Informer()
}

func (r *pods) toHost(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	var v corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &v); err != nil {
		return nil, false, err
	}
	// A pod the host already finished with stays as it is in the virtual cluster.
	if v.Status.Phase == corev1.PodSucceeded || v.Status.Phase == corev1.PodFailed {
		return nil, false, errSkipFinished
	}
	if r.refusedByPodSecurity(ctx, &v) {
		return nil, true, nil
	}
	if r.cfg.VirtualScheduler && v.Spec.NodeName == "" {
		// The virtual scheduler places the pod first; the host pod then goes to that node.
		return nil, false, errNotScheduled
	}
	hostName := translate.HostName(v.Name, v.Namespace, r.tctx.VCluster)
	var live *unstructured.Unstructured
	if obj, err := r.hostPods.ByNamespace(r.tctx.HostNamespace).Get(hostName); err == nil {
		live = obj.(*unstructured.Unstructured)
	}
	token, err := r.tokens.ensure(ctx, &v, hostName, live)
	if err != nil {
		return nil, false, fmt.Errorf("service account token: %w", err)
	}
	svcs, err := r.services.Services(v.Namespace).List(labels.Everything())
	if err != nil {
		return nil, false, err
	}
	p := translate.Pod{Context: r.tctx, Token: token, APIHost: r.cfg.APIHost, APIPort: r.cfg.APIPort,
		ServiceEnv: translate.ServiceEnv(svcs), DNS: r.dnsConfig(v.Namespace), KeepNodeName: r.cfg.VirtualScheduler,
		PriorityClassName: hostPriorityClass(r.cfg, v.Spec.PriorityClassName)}
	h, err := p.HostPod(&v)
	if err != nil {
		return nil, false, err
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(h)
	if err != nil {
		return nil, false, err
	}
	return &unstructured.Unstructured{Object: obj}, false, nil
}

// forUpdate changes only what a running pod lets change: metadata and container images.
func (pods) forUpdate(desired, live *unstructured.Unstructured) *unstructured.Unstructured {
	u := live.DeepCopy()
	u.SetLabels(desired.GetLabels())
	u.SetAnnotations(desired.GetAnnotations())
	for _, kind := range []string{"containers", "initContainers"} {
		want, _, _ := unstructured.NestedSlice(desired.Object, "spec", kind)
		have, _, _ := unstructured.NestedSlice(u.Object, "spec", kind)
		for i := range have {
			if i < len(want) {
				img, _, _ := unstructured.NestedString(want[i].(map[string]any), "image")
				have[i].(map[string]any)["image"] = img
			}
		}
		if len(have) > 0 {
			_ = unstructured.SetNestedSlice(u.Object, have, "spec", kind)
		}
	}
	return u
}

// fromHost binds the virtual pod to the host pod's node and copies the status.
func (r *pods) fromHost(ctx context.Context, hu, vu *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	var h, v corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(hu.Object, &h); err != nil {
		return nil, err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(vu.Object, &v); err != nil {
		return nil, err
	}
	if h.Spec.NodeName != "" && v.Spec.NodeName == "" {
		if err := r.nodes.ensure(ctx, h.Spec.NodeName); err != nil {
			return nil, err
		}
		err := r.virtual.CoreV1().Pods(v.Namespace).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: v.Name, UID: v.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: h.Spec.NodeName},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsConflict(err) {
			return nil, fmt.Errorf("binding to node %s: %w", h.Spec.NodeName, err)
		}
		return nil, errRequeue
	}
	status := h.Status.DeepCopy()
	// qosClass is immutable, and the host's may differ (a host LimitRange adds resources).
	status.QOSClass = v.Status.QOSClass
	if equalJSON(status, v.Status) {
		return nil, nil
	}
	v.Status = *status
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&v)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// finalize ends a virtual pod's deletion the way a kubelet would: the host pod goes first, with
// the same grace period, then the virtual pod is removed for good.
func (r *pods) finalize(ctx context.Context, vu, live *unstructured.Unstructured) error {
	if live != nil && r.tctx.Owned(live) {
		if live.GetDeletionTimestamp() == nil {
			grace := vu.GetDeletionGracePeriodSeconds()
			uid := live.GetUID()
			err := r.host.CoreV1().Pods(r.tctx.HostNamespace).Delete(ctx, live.GetName(), metav1.DeleteOptions{GracePeriodSeconds: grace, Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
		return errRequeue
	}
	r.tokens.forget(ctx, translate.HostName(vu.GetName(), vu.GetNamespace(), r.tctx.VCluster))
	uid := vu.GetUID()
	err := r.virtual.CoreV1().Pods(vu.GetNamespace()).Delete(ctx, vu.GetName(), metav1.DeleteOptions{GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// dnsConfig makes a pod resolve names the way it would in a real cluster, against vkube's DNS.
func (r *pods) dnsConfig(namespace string) *corev1.PodDNSConfig {
	if r.cfg.DNSServer == "" {
		return nil
	}
	d := r.cfg.ClusterDomain
	ndots := "5"
	return &corev1.PodDNSConfig{
		Nameservers: []string{r.cfg.DNSServer},
		Searches:    []string{namespace + ".svc." + d, "svc." + d, d},
		Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: &ndots}},
	}
}
