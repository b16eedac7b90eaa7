package syncer

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// With real nodes and a virtual scheduler, a host pod keeps the virtual pod's spec.nodeName: it
// skips the host scheduler, and with it the nodes' taints, which the virtual scheduler honours
// only as the virtual nodes carry them, and a tenant may write any nodeName itself. So a pinned
// pod reaches the host only on a node this virtual cluster syncs, tolerating what the host
// scheduler would have held against it there.

// keyNodeSync is the host-admin setting that says which host nodes a virtual cluster syncs.
const keyNodeSync = "sync.fromHost.nodes"

// pinnedNodeViolation is why a pod pinned to host node name (node, nil when the host has none of
// that name) must not reach the host, "" when it may. selector is the nodes this virtual cluster
// syncs.
func pinnedNodeViolation(name string, node *corev1.Node, selector labels.Selector, tolerations []corev1.Toleration) string {
	if node == nil || selector == nil || !selector.Matches(labels.Set(node.Labels)) {
		return fmt.Sprintf("spec.nodeName: %q is not a host node this virtual cluster syncs (%s)", name, keyNodeSync)
	}
	taints := node.Spec.Taints
	if node.Spec.Unschedulable {
		// A cordoned node: the scheduler holds it against pods that do not tolerate this taint,
		// whether or not the node controller has added it yet.
		cordon := corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}
		if !taintListed(taints, cordon) {
			taints = append(append([]corev1.Taint(nil), taints...), cordon)
		}
	}
	var untolerated []string
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !tolerates(tolerations, t) {
			untolerated = append(untolerated, t.ToString())
		}
	}
	if len(untolerated) > 0 {
		return fmt.Sprintf("spec.nodeName: the pod does not tolerate host node %q's taints %s (spec.tolerations); a pinned pod skips the host scheduler, which would keep it off that node",
			name, strings.Join(untolerated, ", "))
	}
	return ""
}

func tolerates(tolerations []corev1.Toleration, t *corev1.Taint) bool {
	for i := range tolerations {
		// Numeric (Gt/Lt) tolerations count only where the host's feature gate turns them on;
		// not knowing, they do not count here.
		if tolerations[i].ToleratesTaint(logr.Discard(), t, false) {
			return true
		}
	}
	return false
}

func taintListed(taints []corev1.Taint, t corev1.Taint) bool {
	for i := range taints {
		if taints[i].MatchTaint(&t) {
			return true
		}
	}
	return false
}

// refusedPinning reports whether a pod pinned to a node (spec.nodeName, kept for the host only
// with real nodes and a virtual scheduler) must not reach the host, and says why on the virtual
// pod with a Warning event SyncError.
func (r *pods) refusedPinning(ctx context.Context, v *corev1.Pod) bool {
	var node *corev1.Node
	if r.hostNodes != nil {
		if n, err := r.hostNodes.Get(v.Spec.NodeName); err == nil {
			node = n
		}
	}
	why := pinnedNodeViolation(v.Spec.NodeName, node, r.nodeSelector, v.Spec.Tolerations)
	if why == "" {
		return false
	}
	r.record(ctx, v, hostAccessEvent(podRef(v), v.Namespace, reasonSyncError, refusedPrefix+why, metav1.Now()))
	return true
}
