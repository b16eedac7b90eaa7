package syncer

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// forUpdateObject changes what the API lets change on a running pod: metadata, container
// images, activeDeadlineSeconds (set, or shortened) and added tolerations. The host keeps the
// tolerations its own admission added (the not-ready/unreachable ones).
func (pods) forUpdateObject(desiredObj, liveObj runtime.Object) runtime.Object {
	desired, u := desiredObj.(*corev1.Pod), liveObj.(*corev1.Pod).DeepCopy()
	u.Labels, u.Annotations = desired.Labels, desired.Annotations
	for i := range u.Spec.Containers {
		if i < len(desired.Spec.Containers) {
			u.Spec.Containers[i].Image = desired.Spec.Containers[i].Image
		}
	}
	for i := range u.Spec.InitContainers {
		if i < len(desired.Spec.InitContainers) {
			u.Spec.InitContainers[i].Image = desired.Spec.InitContainers[i].Image
		}
	}
	if d := desired.Spec.ActiveDeadlineSeconds; d != nil {
		u.Spec.ActiveDeadlineSeconds = d
	}
	for _, t := range desired.Spec.Tolerations {
		if !hasToleration(u.Spec.Tolerations, t) {
			u.Spec.Tolerations = append(u.Spec.Tolerations, t)
		}
	}
	return u
}

func hasToleration(ts []corev1.Toleration, t corev1.Toleration) bool {
	for _, have := range ts {
		if equality.Semantic.DeepEqual(have, t) {
			return true
		}
	}
	return false
}

// updateSubresources adds the virtual pod's new ephemeral containers (`kubectl debug`) to the
// host pod, through the subresource a plain update ignores. It runs before the update that
// records the new desired state, so a refusal is retried.
func (r *pods) updateSubresources(ctx context.Context, desiredObj, liveObj runtime.Object) (runtime.Object, error) {
	desired, live := desiredObj.(*corev1.Pod), liveObj.(*corev1.Pod)
	if len(desired.Spec.EphemeralContainers) <= len(live.Spec.EphemeralContainers) {
		return live, nil
	}
	u := live.DeepCopy()
	u.Spec.EphemeralContainers = desired.Spec.EphemeralContainers
	updated, err := r.host.CoreV1().Pods(live.Namespace).UpdateEphemeralContainers(ctx, live.Name, u, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("ephemeral containers: %w", err)
	}
	return updated, nil
}
