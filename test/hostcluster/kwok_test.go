package hostcluster_test

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"vkube.io/vkube/test/hostcluster"
	"vkube.io/vkube/test/images"
)

// TestKwokNode: with the kwok node up, a pod that tolerates its taint lands on kwok-node-0 and
// is Running (kwok plays it: the image is never pulled), and a deleted one goes at once. It uses
// the cluster `make host-up` left running, or brings one up and down itself.
func TestKwokNode(t *testing.T) {
	kwok := hostcluster.FindKwok()
	if kwok == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("kwok is not built: make kwok")
		}
		t.Skip("kwok is not built: make kwok")
	}
	dir := hostDir(t)
	cfg := hostcluster.DefaultConfig(dir)
	cfg.Log = logWriter{t}
	if err := hostcluster.CheckPrerequisites(cfg); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("missing prerequisite: %v", err)
		}
		t.Skipf("missing prerequisite: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c, err := hostcluster.Open(dir)
	if err != nil || !c.Running() {
		vethsBefore := veths(t)
		if os.Getenv("VKUBE_KEEP_HOST") != "1" {
			t.Cleanup(func() { teardown(t, dir, vethsBefore) })
		}
		if c, err = hostcluster.Up(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	started, err := c.UpKwokNode(ctx, kwok)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kwok node schedulable in %.1fs (started kwok: %v)", time.Since(start).Seconds(), started)
	if started {
		t.Cleanup(func() {
			dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
			defer dcancel()
			if err := c.DownKwokNode(dctx); err != nil {
				t.Errorf("kwok node down: %v", err)
			}
		})
	}
	client, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	pods := client.CoreV1().Pods(metav1.NamespaceDefault)
	const name = "kwok-smoke"
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err == nil {
		poll(ctx, t, "the pod of an earlier run to go", func() bool {
			_, err := pods.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		Containers:                   []corev1.Container{{Name: "pause", Image: images.Pause.Ref}},
		Tolerations:                  []corev1.Toleration{hostcluster.KwokToleration()},
		NodeSelector:                 hostcluster.KwokNodeSelector(),
		AutomountServiceAccountToken: new(false),
	}}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	poll(ctx, t, "the pod Running on "+hostcluster.KwokNodeName, func() bool {
		got, err = pods.Get(ctx, name, metav1.GetOptions{})
		return err == nil && got.Spec.NodeName == hostcluster.KwokNodeName && got.Status.Phase == corev1.PodRunning
	})
	if ip, err := netip.ParseAddr(got.Status.PodIP); err != nil || netip.MustParsePrefix(cfg.PodCIDR).Contains(ip) {
		t.Errorf("pod IP %q: want one of kwok's, outside the bridge's %s", got.Status.PodIP, cfg.PodCIDR)
	}
	// Without a kubelet to confirm, a graceful delete only ends when kwok removes the pod.
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(ctx, t, "the deleted pod gone", func() bool {
		_, err := pods.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

func poll(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
