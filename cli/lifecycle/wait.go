package lifecycle

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"vkube.io/vkube/names"
)

// pullFailures are waiting reasons that do not heal by waiting.
var pullFailures = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true}

// WaitReady waits until every replica of the virtual cluster is ready on its current revision
// and its kubeconfig Secret exists, printing each change of state on the way. Failures that
// waiting cannot heal (an image that cannot be pulled, a pod the host refuses) end it early.
func WaitReady(ctx context.Context, c kubernetes.Interface, ns, name string, timeout time.Duration, progress io.Writer) error {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	start := time.Now()
	last := ""
	report := func(state string) {
		if state != last {
			fmt.Fprintf(progress, "[%4.0fs] %s\n", time.Since(start).Seconds(), state)
			last = state
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		sts, err := c.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("StatefulSet %s/%s: %w", ns, name, err)
		}
		want := ptr.Deref(sts.Spec.Replicas, 1)
		if sts.Status.ObservedGeneration >= sts.Generation && sts.Status.UpdateRevision == sts.Status.CurrentRevision &&
			sts.Status.ReadyReplicas == want && sts.Status.UpdatedReplicas == want {
			if _, err := c.CoreV1().Secrets(ns).Get(ctx, names.KubeconfigSecret(name), metav1.GetOptions{}); err == nil {
				report(fmt.Sprintf("virtual cluster %s is ready (%d/%d replicas)", name, want, want))
				return true, nil
			} else if !apierrors.IsNotFound(err) {
				return false, err
			}
			report("waiting for the kubeconfig Secret " + names.KubeconfigSecret(name))
			return false, nil
		}
		if lost := lostEtcdCluster(ctx, c, ns, name); lost != "" {
			return false, fmt.Errorf("virtual cluster %s: %s", name, lost)
		}
		state, err := podStates(ctx, c, sts)
		if err != nil {
			return false, err
		}
		report(state)
		return false, nil
	})
	if err != nil && !strings.HasPrefix(err.Error(), "StatefulSet") && ctx.Err() == nil && wait.Interrupted(err) {
		return fmt.Errorf("virtual cluster %s not ready after %s (last: %s): see kubectl -n %s logs %s-0", name, timeout, last, ns, name)
	}
	return err
}

// podStates describes the StatefulSet's pods in one line, or fails on what cannot heal.
func podStates(ctx context.Context, c kubernetes.Interface, sts *appsv1.StatefulSet) (string, error) {
	pods, err := c.CoreV1().Pods(sts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: instanceSelector(sts.Name)})
	if err != nil {
		return "", err
	}
	if len(pods.Items) == 0 {
		if msg := lastFailedCreate(ctx, c, sts); msg != "" {
			return "", fmt.Errorf("the host refuses the pods of %s: %s", sts.Name, msg)
		}
		return "waiting for pods of StatefulSet " + sts.Name, nil
	}
	var parts []string
	for _, p := range pods.Items {
		s, err := podState(&p)
		if err != nil {
			return "", err
		}
		parts = append(parts, p.Name+": "+s)
	}
	return strings.Join(parts, ", "), nil
}

func podState(p *corev1.Pod) (string, error) {
	if p.DeletionTimestamp != nil {
		return "terminating", nil
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse {
			return "unschedulable: " + cond.Message, nil
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			if pullFailures[w.Reason] {
				return "", fmt.Errorf("pod %s cannot pull image %s (%s: %s): load the image into the host (make image; make host-load-image TAR=bin/vkube-image.tar) or pick a --kubernetes-version it has", p.Name, cs.Image, w.Reason, w.Message)
			}
			if w.Reason == "CreateContainerConfigError" {
				return "", fmt.Errorf("pod %s cannot start: %s", p.Name, w.Message)
			}
			if cs.LastTerminationState.Terminated != nil {
				return fmt.Sprintf("%s (restarts %d, last exit: %s)", w.Reason, cs.RestartCount, lastWords(cs.LastTerminationState.Terminated)), nil
			}
			return w.Reason, nil
		}
		if cs.State.Running != nil && !cs.Ready {
			return "running, waiting for the virtual API", nil
		}
	}
	return strings.ToLower(string(p.Status.Phase)), nil
}

func lastWords(t *corev1.ContainerStateTerminated) string {
	msg := strings.TrimSpace(t.Message)
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		msg = msg[i+1:]
	}
	if msg == "" {
		msg = t.Reason
	}
	return fmt.Sprintf("code %d %s", t.ExitCode, msg)
}

// lastFailedCreate is the host's message when the StatefulSet controller could not create a
// pod (quota, Pod Security admission, a webhook).
func lastFailedCreate(ctx context.Context, c kubernetes.Interface, sts *appsv1.StatefulSet) string {
	evs, err := c.CoreV1().Events(sts.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + sts.Name + ",involvedObject.kind=StatefulSet,reason=FailedCreate"})
	if err != nil || len(evs.Items) == 0 {
		return ""
	}
	latest := evs.Items[0]
	for _, e := range evs.Items[1:] {
		if e.LastTimestamp.After(latest.LastTimestamp.Time) {
			latest = e
		}
	}
	if latest.LastTimestamp.Time.Before(sts.CreationTimestamp.Time) {
		return ""
	}
	return latest.Message
}
