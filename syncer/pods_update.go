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
	setImages(u.Spec.Containers, desired.Spec.Containers)
	setImages(u.Spec.InitContainers, desired.Spec.InitContainers)
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

// setImages gives each live container the image of the desired one of its name: by name, since a
// host pod made before vkube added a helper init container has none in front.
func setImages(live, desired []corev1.Container) {
	images := make(map[string]string, len(desired))
	for _, c := range desired {
		images[c.Name] = c.Image
	}
	for i := range live {
		if image, ok := images[live[i].Name]; ok {
			live[i].Image = image
		}
	}
}

func hasToleration(ts []corev1.Toleration, t corev1.Toleration) bool {
	for _, have := range ts {
		if equality.Semantic.DeepEqual(have, t) {
			return true
		}
	}
	return false
}

// updateSubresources brings what a plain update ignores to the host pod, each through its
// subresource: the virtual pod's new ephemeral containers (`kubectl debug`) and an in-place
// resize of its containers' resources. It runs before the update that records the new desired
// state, so a refusal is retried.
func (r *pods) updateSubresources(ctx context.Context, desiredObj, liveObj runtime.Object) (runtime.Object, error) {
	desired, live := desiredObj.(*corev1.Pod), liveObj.(*corev1.Pod)
	pods := r.host.CoreV1().Pods(live.Namespace)
	if len(desired.Spec.EphemeralContainers) > len(live.Spec.EphemeralContainers) {
		u := live.DeepCopy()
		u.Spec.EphemeralContainers = desired.Spec.EphemeralContainers
		updated, err := pods.UpdateEphemeralContainers(ctx, live.Name, u, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("ephemeral containers: %w", err)
		}
		live = updated
	}
	if u, ok := resized(desired, live); ok {
		updated, err := pods.UpdateResize(ctx, live.Name, u, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("resize: %w", err)
		}
		live = updated
	}
	return live, nil
}

// resized is live with the resources desired sets, when they differ. Only what the virtual pod
// sets counts: the host's admission may have added defaults (a LimitRange) the tenant never saw.
func resized(desired, live *corev1.Pod) (*corev1.Pod, bool) {
	u, changed := live.DeepCopy(), false
	for i := range u.Spec.Containers {
		if i >= len(desired.Spec.Containers) {
			break
		}
		want, have := desired.Spec.Containers[i].Resources, &u.Spec.Containers[i].Resources
		for _, pair := range []struct{ want, have *corev1.ResourceList }{{&want.Requests, &have.Requests}, {&want.Limits, &have.Limits}} {
			for name, q := range *pair.want {
				if cur, ok := (*pair.have)[name]; ok && cur.Equal(q) {
					continue
				}
				if *pair.have == nil {
					*pair.have = corev1.ResourceList{}
				}
				(*pair.have)[name] = q
				changed = true
			}
		}
	}
	return u, changed
}
