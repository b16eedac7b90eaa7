package syncer

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// TestStatusBackKeepsVirtualConditions: the host's status comes back, but an eviction's
// DisruptionTarget and a readiness gate's condition, which only the virtual side writes, stay.
func TestStatusBackKeepsVirtualConditions(t *testing.T) {
	v := &corev1.Pod{Spec: corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI"},
			{Type: "example.com/ready", Status: corev1.ConditionFalse},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
		}}}
	h := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, Conditions: []corev1.PodCondition{
		{Type: corev1.PodReady, Status: corev1.ConditionFalse},
		{Type: "example.com/ready", Status: corev1.ConditionTrue}, // stale: the tenant changed it since
	}}}
	back := statusBack(h, v)
	if back == nil || back.Status.Phase != corev1.PodFailed {
		t.Fatalf("the host's phase did not come back: %+v", back)
	}
	got := map[corev1.PodConditionType]corev1.ConditionStatus{}
	for _, c := range back.Status.Conditions {
		got[c.Type] = c.Status
	}
	want := map[corev1.PodConditionType]corev1.ConditionStatus{corev1.PodReady: corev1.ConditionFalse, corev1.DisruptionTarget: corev1.ConditionTrue, "example.com/ready": corev1.ConditionFalse}
	if len(got) != len(want) {
		t.Fatalf("conditions %v, want %v", got, want)
	}
	for k, s := range want {
		if got[k] != s {
			t.Errorf("condition %s = %s, want %s", k, got[k], s)
		}
	}
	if statusBack(h, back) != nil {
		t.Errorf("an unchanged status is written again")
	}
}

// TestTerminatedAsKubeletLeavesIt: a pod whose host twin is gone before it reported its end is
// left Failed, its running containers terminated as a kubelet words it; a finished one is left.
func TestTerminatedAsKubeletLeavesIt(t *testing.T) {
	v := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Ready: true, Started: ptr.To(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
	back := terminated(v)
	if back == nil || back.Status.Phase != corev1.PodFailed {
		t.Fatalf("want Failed, got %+v", back)
	}
	if s := back.Status.ContainerStatuses[0]; s.Ready || s.State.Terminated == nil || s.State.Terminated.Reason != "ContainerStatusUnknown" || s.State.Terminated.ExitCode != 137 {
		t.Errorf("container status %+v", s)
	}
	if back.Status.Conditions[0].Status != corev1.ConditionFalse {
		t.Errorf("still Ready: %+v", back.Status.Conditions)
	}
	if terminated(back) != nil {
		t.Errorf("a terminal pod is changed again")
	}
	done := v.DeepCopy()
	done.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}
	if back := terminated(done); back == nil || back.Status.Phase != corev1.PodSucceeded {
		t.Errorf("containers that all exited 0: want Succeeded, got %+v", back)
	}
	if terminated(&corev1.Pod{}) != nil {
		t.Errorf("a pod never bound to a node has no containers to end")
	}
}

// TestPodUpdateCarriesMutableFields: activeDeadlineSeconds and added tolerations reach the host
// pod; the host's own tolerations stay.
func TestPodUpdateCarriesMutableFields(t *testing.T) {
	hostOwn := corev1.Toleration{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To(int64(300))}
	live := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{hostOwn}, Containers: []corev1.Container{{Name: "c", Image: "a"}}}}
	added := corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "x", Effect: corev1.TaintEffectNoSchedule}
	desired := &corev1.Pod{Spec: corev1.PodSpec{ActiveDeadlineSeconds: ptr.To(int64(5)), Tolerations: []corev1.Toleration{added},
		Containers: []corev1.Container{{Name: "c", Image: "b"}}}}
	u := pods{}.forUpdateObject(desired, live).(*corev1.Pod)
	if u.Spec.ActiveDeadlineSeconds == nil || *u.Spec.ActiveDeadlineSeconds != 5 || u.Spec.Containers[0].Image != "b" {
		t.Errorf("update %+v", u.Spec)
	}
	if len(u.Spec.Tolerations) != 2 || !hasToleration(u.Spec.Tolerations, hostOwn) || !hasToleration(u.Spec.Tolerations, added) {
		t.Errorf("tolerations %+v", u.Spec.Tolerations)
	}
}

// TestReadinessGateOnKubeletCondition: a tenant's readiness gate naming a kubelet condition
// neither hides the host kubelet's Ready nor is written to the host pod.
func TestReadinessGateOnKubeletCondition(t *testing.T) {
	v := &corev1.Pod{Spec: corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: corev1.PodReady}}},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	h := &corev1.Pod{Spec: v.Spec, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}}
	if got := conditionsBack(h, v); len(got) != 1 || got[0].Status != corev1.ConditionFalse {
		t.Errorf("conditions %+v: want the host kubelet's Ready=False", got)
	}
	if len(gateConditions(h)) != 0 {
		t.Errorf("a Ready gate would be written to the host pod")
	}
}

// TestResizedOnlyWhatTheTenantSets: a resize changes the resources the virtual pod sets; a host
// default the tenant never set (a LimitRange's memory limit) neither triggers one nor is dropped.
func TestResizedOnlyWhatTheTenantSets(t *testing.T) {
	res := func(req, lim corev1.ResourceList) corev1.PodSpec {
		return corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}}}
	}
	live := &corev1.Pod{Spec: res(corev1.ResourceList{"cpu": resource.MustParse("100m")}, corev1.ResourceList{"memory": resource.MustParse("512Mi")})}
	same := &corev1.Pod{Spec: res(corev1.ResourceList{"cpu": resource.MustParse("0.1")}, nil)}
	if _, ok := resized(same, live); ok {
		t.Errorf("a resize of resources that did not change")
	}
	more := &corev1.Pod{Spec: res(corev1.ResourceList{"cpu": resource.MustParse("150m")}, nil)}
	u, ok := resized(more, live)
	if c := u.Spec.Containers[0].Resources; !ok || c.Requests.Cpu().MilliValue() != 150 || c.Limits.Memory().String() != "512Mi" {
		t.Errorf("resize %v: %+v", ok, c)
	}
}
