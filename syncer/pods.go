package syncer

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

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
	hostPods corelisters.PodLister
	// hostNodes and nodeSelector (real nodes only) are the host nodes and which of them this
	// virtual cluster syncs: a pinned pod must name one of those.
	hostNodes    corelisters.NodeLister
	nodeSelector labels.Selector
}

func (pods) gvr() schema.GroupVersionResource { return corev1.SchemeGroupVersion.WithResource("pods") }

// toHostObject translates a pod from the informer's cache (not to be changed).
func (r *pods) toHostObject(ctx context.Context, obj runtime.Object) (runtime.Object, bool, error) {
	v := obj.(*corev1.Pod)
	// A pod the host already finished with stays as it is in the virtual cluster.
	if v.Status.Phase == corev1.PodSucceeded || v.Status.Phase == corev1.PodFailed {
		return nil, false, errSkipFinished
	}
	if r.refusedByPodSecurity(ctx, v) {
		// A refused ephemeral container (`kubectl debug --profile=sysadmin`) is refused alone: the
		// pod runs on without it (the event says why), rather than its twin being deleted.
		running := v.DeepCopy()
		running.Spec.EphemeralContainers = nil
		if len(v.Spec.EphemeralContainers) == 0 || podSecurityRefusal(r.cfg.HostPodSecurityStandard, r.cfg.PodSecurityStandard, running, metav1.Now()) != nil {
			return nil, true, nil
		}
		v = running
	}
	if r.cfg.VirtualScheduler && v.Spec.NodeName == "" {
		// The virtual scheduler places the pod first; the host pod then goes to that node.
		return nil, false, errNotScheduled
	}
	// Only real nodes are host nodes the virtual scheduler may choose among; a fake node's name
	// is dropped and the host scheduler places the pod.
	keepNode := r.cfg.VirtualScheduler && r.cfg.RealNodes
	if keepNode && r.refusedPinning(ctx, v) {
		return nil, true, nil
	}
	hostName := translate.HostName(v.Name, v.Namespace, r.tctx.VCluster)
	var live metav1.Object
	// Only this pod's own twin may lend its token: another's is bound to another pod.
	if p, err := r.hostPods.Pods(r.tctx.HostNamespace).Get(hostName); err == nil && translate.IdentityOf("Pod", v).Match(p.Annotations) == translate.Same {
		live = p
	}
	token, err := r.tokens.ensure(ctx, v, hostName, live)
	if err != nil {
		return nil, false, fmt.Errorf("service account token: %w", err)
	}
	svcs, err := r.services.Services(v.Namespace).List(labels.Everything())
	if err != nil {
		return nil, false, err
	}
	p := translate.Pod{Context: r.tctx, Token: token, APIHost: r.cfg.APIHost, APIPort: r.cfg.APIPort,
		ServiceEnv: translate.ServiceEnv(svcs), DNS: r.dnsConfig(v.Namespace), KeepNodeName: keepNode,
		PriorityClassName: hostPriorityClass(r.cfg, v.Spec.PriorityClassName), HostsImage: r.cfg.HostsImage, ClusterDomain: r.cfg.ClusterDomain}
	h, err := p.HostPod(v)
	if err != nil {
		return nil, false, err
	}
	return h, false, nil
}

// replacesEarlierTwins: a host pod left by an earlier virtual pod of the same name is deleted,
// not updated (its spec is immutable, and it runs another pod's containers).
func (*pods) replacesEarlierTwins() {}

// fromHostObject binds the virtual pod to the host pod's node and copies the status.
func (r *pods) fromHostObject(ctx context.Context, hostObj, virtualObj runtime.Object) (runtime.Object, error) {
	h, v := hostObj.(*corev1.Pod), virtualObj.(*corev1.Pod)
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
	if err := r.pushGateConditions(ctx, h, v); err != nil {
		return nil, err
	}
	if back := statusBack(h, v); back != nil {
		return back, nil
	}
	return nil, nil // not a nil *Pod in the interface
}

// finalize ends a virtual pod's deletion the way a kubelet would: the host pod goes first, with
// the same grace period, its status followed to the end (a Job reads the terminal phase and exit
// codes), then the virtual pod is removed for good.
func (r *pods) finalize(ctx context.Context, virtual, liveObj runtime.Object) error {
	vu := virtual.(*corev1.Pod)
	if liveObj != nil && r.tctx.Owned(metaOf(liveObj)) {
		live := liveObj.(*corev1.Pod)
		if live.GetDeletionTimestamp() == nil {
			grace := vu.GetDeletionGracePeriodSeconds()
			uid := live.GetUID()
			err := r.host.CoreV1().Pods(r.tctx.HostNamespace).Delete(ctx, live.GetName(), metav1.DeleteOptions{GracePeriodSeconds: grace, Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
		// Only this pod's own twin tells its story (an earlier pod's of the name goes too).
		if back := statusBack(live, vu); back != nil && translate.IdentityOf("Pod", vu).Match(live.Annotations) == translate.Same {
			if _, err := r.virtual.CoreV1().Pods(vu.Namespace).UpdateStatus(ctx, back, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return err
			}
		}
		return errRequeue
	}
	if back := terminated(vu); back != nil {
		if _, err := r.virtual.CoreV1().Pods(vu.Namespace).UpdateStatus(ctx, back, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
	}
	r.tokens.forget(ctx, vu, translate.HostName(vu.GetName(), vu.GetNamespace(), r.tctx.VCluster))
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
