package lifecycle

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"vkube.io/vkube/backend"
	"vkube.io/vkube/config/encoding"
	"vkube.io/vkube/names"
)

// Where the chart keeps a virtual cluster's configuration: Secret names.ConfigSecret, key
// vkube.yaml, mounted at /etc/vkube (charts/vkube/templates/secret.yaml, statefulset.yaml).
const (
	configKey  = "vkube.yaml"
	configPath = "/etc/vkube/" + configKey
)

// dropDatabase drops the database vkube made for virtual cluster o.Name on a shared database
// server (delete --drop-database). The host's pods reach that server, this machine may not: the
// control plane is stopped, then a one-shot pod made from its own pod template runs
// `vkube drop-database` with its configuration. A refusal comes before anything changes; a
// failure leaves the virtual cluster paused (vkube resume brings it back) for a retry.
func dropDatabase(ctx context.Context, c kubernetes.Interface, o DeleteOptions, progress io.Writer) error {
	if err := checkDroppable(ctx, c, o.Namespace, o.Name); err != nil {
		return fmt.Errorf("--drop-database: virtual cluster %s: %w; nothing was deleted", o.Name, err)
	}
	sts, err := controlPlane(ctx, c, o.Namespace, o.Name)
	if err != nil {
		return fmt.Errorf("--drop-database: %w", err)
	}
	if err := stopControlPlane(ctx, c, sts, o, progress); err != nil {
		return err
	}
	if err := runDropPod(ctx, c, dropDatabasePod(sts, o.Name, o.Namespace), o.Timeout, progress); err != nil {
		return fmt.Errorf("dropping the database of %s: %w; the virtual cluster is paused and nothing else was deleted: fix the cause and run vkube delete %s -n %s --drop-database again (or without --drop-database to keep the database)",
			o.Name, err, o.Name, o.Namespace)
	}
	return nil
}

// checkDroppable refuses a virtual cluster whose datastore is not a database vkube made, by the
// configuration its pods read. A DSN in a file (dataSourceFile) is readable only in the pod,
// whose vkube drop-database refuses in its turn.
func checkDroppable(ctx context.Context, c kubernetes.Interface, ns, name string) error {
	secret, err := c.CoreV1().Secrets(ns).Get(ctx, names.ConfigSecret(name), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading its configuration: %w", err)
	}
	if err := droppable(secret.Data[configKey], ns, name); err != nil {
		return fmt.Errorf("Secret %s: %w", secret.Name, err)
	}
	return nil
}

// droppable says whether the configuration document of a virtual cluster names a database that
// vkube made (a DSN in a file is for the pod to check).
func droppable(doc []byte, ns, name string) error {
	cfg, _, err := encoding.Load(doc)
	if err != nil {
		return fmt.Errorf("reading its configuration: %w", err)
	}
	cfg.Name = name
	if ext := cfg.ControlPlane.BackingStore.Database.External; ext.Enabled && ext.DataSource == "" {
		return nil
	}
	bc, err := backend.ConfigFor(cfg, ns)
	if err != nil {
		return err
	}
	_, err = backend.OwnDatabase(bc)
	return err
}

// stopControlPlane scales the control plane to 0 the way vkube pause does, and waits for its
// pods to go: nothing may use the database while it is dropped.
func stopControlPlane(ctx context.Context, c kubernetes.Interface, sts *appsv1.StatefulSet, o DeleteOptions, progress io.Writer) error {
	if _, paused := sts.Annotations[annotationPausedReplicas]; !paused {
		replicas := ptr.Deref(sts.Spec.Replicas, 1)
		if err := scale(ctx, c, o.Namespace, o.Name, 0, map[string]any{annotationPausedReplicas: strconv.Itoa(int(replicas))}); err != nil {
			return err
		}
		fmt.Fprintf(progress, "stopping the control plane of %s before its database is dropped\n", o.Name)
	}
	return waitGone(ctx, c, o.Namespace, instanceSelector(o.Name), o.Timeout, progress, "control plane")
}

// dropDatabasePod is the control plane's pod (image, service account, volumes, env, security
// context) running `vkube drop-database` once. It carries none of the StatefulSet's selector
// labels, so that neither the StatefulSet nor the Services take it for a replica, and keeps
// vkube.io/cluster, so that the control plane's network policy lets it reach the database.
func dropDatabasePod(sts *appsv1.StatefulSet, name, ns string) *corev1.Pod {
	tmpl := sts.Spec.Template.DeepCopy()
	var selected map[string]string
	if sts.Spec.Selector != nil {
		selected = sts.Spec.Selector.MatchLabels
	}
	labels := map[string]string{}
	for k, v := range tmpl.Labels {
		if _, selects := selected[k]; !selects {
			labels[k] = v
		}
	}
	labels["app.kubernetes.io/component"] = "drop-database"
	spec := tmpl.Spec
	spec.RestartPolicy = corev1.RestartPolicyNever
	vk := spec.Containers[0]
	for _, ctr := range spec.Containers {
		if ctr.Name == "vkube" {
			vk = ctr
		}
	}
	vk.Args = []string{"drop-database", "--config", configPath, "--name", name, "--host-namespace", ns}
	vk.StartupProbe, vk.ReadinessProbe, vk.LivenessProbe, vk.Lifecycle, vk.Ports = nil, nil, nil, nil, nil
	spec.Containers = []corev1.Container{vk}
	// The data volume is a claim of each replica; dropping a database needs no data.
	for _, claim := range sts.Spec.VolumeClaimTemplates {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: claim.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-drop-database", Namespace: ns, Labels: labels, Annotations: tmpl.Annotations},
		Spec:       spec,
	}
}

// runDropPod runs pod to completion, showing its log, and removes it.
func runDropPod(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, timeout time.Duration, progress io.Writer) error {
	pods := c.CoreV1().Pods(pod.Namespace)
	// A pod left by an interrupted delete would hold the name.
	if err := removePod(ctx, c, pod.Namespace, pod.Name); err != nil {
		return err
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating pod %s: %w", pod.Name, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = pods.Delete(dctx, pod.Name, metav1.DeleteOptions{})
	}()
	fmt.Fprintf(progress, "dropping the database from pod %s\n", pod.Name)
	waitErr := waitPodDone(ctx, c, pod.Namespace, pod.Name, timeout)
	logs, logErr := pods.GetLogs(pod.Name, &corev1.PodLogOptions{TailLines: ptr.To[int64](20)}).DoRaw(ctx)
	if waitErr == nil {
		fmt.Fprint(progress, indent(string(logs)))
		return nil
	}
	if logErr == nil && len(strings.TrimSpace(string(logs))) > 0 {
		fmt.Fprintf(progress, "pod %s says:\n%s", pod.Name, indent(string(logs)))
	}
	return waitErr
}

// waitPodDone waits until the pod succeeds, and fails when it fails or cannot start.
func waitPodDone(ctx context.Context, c kubernetes.Interface, ns, name string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	last := "pending"
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("pod %s: %w", name, err)
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			return true, nil
		case corev1.PodFailed:
			return false, fmt.Errorf("pod %s failed", name)
		}
		last, err = podState(p)
		return false, err
	})
	if err != nil && wait.Interrupted(err) && ctx.Err() == nil {
		return fmt.Errorf("pod %s not done after %s (last: %s)", name, timeout, last)
	}
	return err
}

// removePod deletes a pod and waits until it is gone.
func removePod(ctx context.Context, c kubernetes.Interface, ns, name string) error {
	err := c.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting pod %s: %w", name, err)
	}
	return wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if line != "" {
			b.WriteString("  " + line + "\n")
		}
	}
	return b.String()
}
