package syncer

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vkube.io/vkube/syncer/translate"
)

// statusBack is the virtual pod with the host pod's status, or nil when it has it already. The
// kubelet's conditions come from the host; the conditions only the virtual side writes stay: a
// readiness gate's (the tenant's controllers set it) and any the host pod lacks (the
// DisruptionTarget an eviction adds, which a Job's podFailurePolicy matches).
func statusBack(h, v *corev1.Pod) *corev1.Pod {
	status := h.Status.DeepCopy()
	// qosClass is immutable, and the host's may differ (a host LimitRange adds resources).
	status.QOSClass = v.Status.QOSClass
	if !translate.NamesHostsHelper(&v.Spec) {
		withoutHostsHelper(status)
	}
	status.Conditions = conditionsBack(h, v)
	if equalJSON(status, v.Status) {
		return nil
	}
	back := v.DeepCopy()
	back.Status = *status
	return back
}

// withoutHostsHelper drops what the host pod's /etc/hosts helper adds to its status: the virtual
// pod has no such container (the API refuses a status naming one) and no such mount.
func withoutHostsHelper(status *corev1.PodStatus) {
	status.InitContainerStatuses = slices.DeleteFunc(status.InitContainerStatuses, func(s corev1.ContainerStatus) bool {
		return s.Name == translate.HostsHelper
	})
	for _, statuses := range [][]corev1.ContainerStatus{status.InitContainerStatuses, status.ContainerStatuses, status.EphemeralContainerStatuses} {
		for i := range statuses {
			statuses[i].VolumeMounts = slices.DeleteFunc(statuses[i].VolumeMounts, func(m corev1.VolumeMountStatus) bool {
				return m.Name == translate.HostsHelper
			})
		}
	}
}

// kubeletConditions are the conditions the kubelet and the control plane own: a readiness gate
// naming one (a tenant's `Ready` gate) neither overrides the host's nor is written to the host pod.
var kubeletConditions = map[corev1.PodConditionType]bool{
	corev1.PodScheduled: true, corev1.PodInitialized: true, corev1.ContainersReady: true, corev1.PodReady: true,
	corev1.PodReadyToStartContainers: true, corev1.DisruptionTarget: true, corev1.PodResizePending: true, corev1.PodResizeInProgress: true,
}

// gateConditions are the condition types of pod's readiness gates that only the virtual side sets.
func gateConditions(pod *corev1.Pod) map[corev1.PodConditionType]bool {
	gates := map[corev1.PodConditionType]bool{}
	for _, g := range pod.Spec.ReadinessGates {
		if !kubeletConditions[g.ConditionType] {
			gates[g.ConditionType] = true
		}
	}
	return gates
}

func conditionsBack(h, v *corev1.Pod) []corev1.PodCondition {
	virtualOwned := gateConditions(v)
	onHost := map[corev1.PodConditionType]bool{}
	var out []corev1.PodCondition
	for _, c := range h.Status.Conditions {
		onHost[c.Type] = true
		if !virtualOwned[c.Type] {
			out = append(out, c)
		}
	}
	for _, c := range v.Status.Conditions {
		if virtualOwned[c.Type] || !onHost[c.Type] {
			out = append(out, c)
		}
	}
	return out
}

// pushGateConditions gives the host pod the virtual pod's readiness gate conditions: the host
// kubelet computes Ready from the host pod's own, which nothing else sets.
func (r *pods) pushGateConditions(ctx context.Context, h, v *corev1.Pod) error {
	if len(h.Spec.ReadinessGates) == 0 {
		return nil
	}
	update, changed := h.DeepCopy(), false
	for gate := range gateConditions(h) {
		want := findCondition(v.Status.Conditions, gate)
		if want == nil {
			continue
		}
		switch have := findCondition(update.Status.Conditions, gate); {
		case have == nil:
			update.Status.Conditions = append(update.Status.Conditions, *want)
		case have.Status != want.Status || have.Reason != want.Reason || have.Message != want.Message:
			*have = *want
		default:
			continue
		}
		changed = true
	}
	if !changed {
		return nil
	}
	if _, err := r.host.CoreV1().Pods(h.Namespace).UpdateStatus(ctx, update, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("readiness gate conditions of host pod %s: %w", h.Name, err)
	}
	// The host kubelet recomputes Ready; its update brings the pod back here.
	return errRequeue
}

func findCondition(conds []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// terminated is the status a kubelet leaves on a pod it deleted before reporting the end of its
// containers (the host pod went first), or nil when the pod is terminal already: a Job, a
// StatefulSet and `kubectl get` then see the pod end, not vanish while Running.
func terminated(v *corev1.Pod) *corev1.Pod {
	if v.Status.Phase == corev1.PodSucceeded || v.Status.Phase == corev1.PodFailed || v.Spec.NodeName == "" {
		return nil
	}
	back := v.DeepCopy()
	succeeded := len(back.Status.ContainerStatuses) > 0
	for _, statuses := range [][]corev1.ContainerStatus{back.Status.InitContainerStatuses, back.Status.ContainerStatuses, back.Status.EphemeralContainerStatuses} {
		for i := range statuses {
			s := &statuses[i]
			if s.State.Terminated == nil {
				// The kubelet's words for a container it could not find when the pod was deleted.
				s.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "ContainerStatusUnknown",
					Message: "The container could not be located when the pod was deleted.  The container used to be Running"}}
				s.Ready, s.Started = false, new(bool)
			}
		}
	}
	for _, s := range back.Status.ContainerStatuses {
		if s.State.Terminated.ExitCode != 0 {
			succeeded = false
		}
	}
	back.Status.Phase = corev1.PodFailed
	if succeeded {
		back.Status.Phase = corev1.PodSucceeded
	}
	for i := range back.Status.Conditions {
		if c := &back.Status.Conditions[i]; c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			c.Status, c.Reason, c.LastTransitionTime = corev1.ConditionFalse, "PodCompleted", metav1.Now()
		}
	}
	return back
}
