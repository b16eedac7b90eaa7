package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	appsv1 "k8s.io/api/apps/v1"

	"vkube.io/vkube/cli/hostflags"
)

// Pause scales the control plane to zero, remembering its replicas, and deletes the pods it
// synced to the host; every virtual object stays in the datastore for Resume.
func Pause(ctx context.Context, host *hostflags.Flags, name, ns string, timeout time.Duration, progress io.Writer) error {
	_, c, err := host.Client()
	if err != nil {
		return err
	}
	sts, err := controlPlane(ctx, c, ns, name)
	if err != nil {
		return err
	}
	if _, paused := sts.Annotations[annotationPausedReplicas]; paused {
		return fmt.Errorf("virtual cluster %s is already paused: vkube resume %s -n %s", name, name, ns)
	}
	replicas := ptr.Deref(sts.Spec.Replicas, 1)
	if err := scale(ctx, c, ns, name, 0, map[string]any{annotationPausedReplicas: strconv.Itoa(int(replicas))}); err != nil {
		return err
	}
	fmt.Fprintf(progress, "pausing virtual cluster %s: control plane scaled from %d to 0\n", name, replicas)
	if err := waitGone(ctx, c, ns, instanceSelector(name), timeout, progress, "control plane"); err != nil {
		return err
	}
	err = c.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: labelSynced + "=" + name})
	if err != nil {
		return fmt.Errorf("deleting the synced pods of %s: %w", name, err)
	}
	if err := waitGone(ctx, c, ns, labelSynced+"="+name, timeout, progress, "synced"); err != nil {
		return err
	}
	fmt.Fprintf(progress, "paused virtual cluster %s: resume it with vkube resume %s -n %s\n", name, name, ns)
	return nil
}

// Resume scales a paused control plane back; its syncer recreates the workloads on the host.
func Resume(ctx context.Context, host *hostflags.Flags, name, ns string, timeout time.Duration, progress io.Writer) error {
	_, c, err := host.Client()
	if err != nil {
		return err
	}
	sts, err := controlPlane(ctx, c, ns, name)
	if err != nil {
		return err
	}
	saved, paused := sts.Annotations[annotationPausedReplicas]
	if !paused {
		return fmt.Errorf("virtual cluster %s is not paused", name)
	}
	replicas, err := strconv.Atoi(saved)
	if err != nil || replicas < 1 {
		replicas = 1
	}
	if err := scale(ctx, c, ns, name, int32(replicas), map[string]any{annotationPausedReplicas: nil}); err != nil {
		return err
	}
	fmt.Fprintf(progress, "resuming virtual cluster %s with %d replica(s)\n", name, replicas)
	return WaitReady(ctx, c, ns, name, timeout, progress)
}

func controlPlane(ctx context.Context, c kubernetes.Interface, ns, name string) (*appsv1.StatefulSet, error) {
	sts, err := c.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && sts.Labels[labelName] != "vkube") {
		return nil, fmt.Errorf("virtual cluster %s not found in namespace %s (vkube list shows them)", name, ns)
	}
	if err != nil {
		return nil, fmt.Errorf("virtual cluster %s: %w", name, err)
	}
	return sts, nil
}

func scale(ctx context.Context, c kubernetes.Interface, ns, name string, replicas int32, annotations map[string]any) error {
	body := map[string]any{"spec": map[string]any{"replicas": replicas}}
	if annotations != nil {
		body["metadata"] = map[string]any{"annotations": annotations}
	}
	patch, _ := json.Marshal(body)
	if _, err := c.AppsV1().StatefulSets(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("scaling virtual cluster %s to %d: %w", name, replicas, err)
	}
	return nil
}
