package syncer

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestPinnedNodeViolation(t *testing.T) {
	worker := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1", Labels: map[string]string{"pool": "tenants"}}}
	gpu := worker.DeepCopy()
	gpu.Spec.Taints = []corev1.Taint{{Key: "gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule},
		{Key: "soft", Effect: corev1.TaintEffectPreferNoSchedule}}
	control := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cp", Labels: map[string]string{"pool": "system"}},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}}}
	cordoned := worker.DeepCopy()
	cordoned.Spec.Unschedulable = true
	draining := worker.DeepCopy()
	draining.Spec.Taints = []corev1.Taint{{Key: "maintenance", Effect: corev1.TaintEffectNoExecute}}
	tenants := labels.SelectorFromSet(labels.Set{"pool": "tenants"})
	tolerateGPU := []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	tolerateAll := []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	numeric := []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpGt, Value: "0"}}
	for _, tc := range []struct {
		name        string
		node        *corev1.Node
		selector    labels.Selector
		tolerations []corev1.Toleration
		want        string // "" means allowed
	}{
		{"a synced node", worker, tenants, nil, ""},
		{"every node synced", control, labels.Everything(), tolerateAll, ""},
		{"no such host node", nil, labels.Everything(), nil, `spec.nodeName: "w1" is not a host node this virtual cluster syncs (sync.fromHost.nodes)`},
		{"a node outside the selector", control, tenants, tolerateAll, `spec.nodeName: "cp" is not a host node this virtual cluster syncs`},
		{"no selector known", worker, nil, nil, "is not a host node this virtual cluster syncs"},
		{"an untolerated NoSchedule taint", gpu, tenants, nil, `spec.nodeName: the pod does not tolerate host node "w1"'s taints gpu=true:NoSchedule (spec.tolerations)`},
		{"a tolerated taint; PreferNoSchedule does not count", gpu, tenants, tolerateGPU, ""},
		{"numeric tolerations do not count", gpu, tenants, numeric, "gpu=true:NoSchedule"},
		{"the control plane's taint", control, labels.Everything(), nil, "node-role.kubernetes.io/control-plane:NoSchedule"},
		{"a cordoned node", cordoned, tenants, nil, "node.kubernetes.io/unschedulable:NoSchedule"},
		{"a NoExecute taint", draining, tenants, nil, "maintenance:NoExecute"},
		{"a NoExecute taint tolerated", draining, tenants, tolerateAll, ""},
	} {
		name := "w1"
		if tc.node != nil {
			name = tc.node.Name
		}
		got := pinnedNodeViolation(name, tc.node, tc.selector, tc.tolerations)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
