package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"vkube.io/vkube/syncer/translate"
	"vkube.io/vkube/test/images"
)

// runLifecycle is the lifecycle part: `vkube create`, `pause` and `resume` on the real host
// (test/hostcluster), vkube in a pod of its image, driven through the CLI as a user would.
// Each of BENCH_LIFECYCLE_RUNS (3) virtual clusters is created, gets a 2-replica Deployment,
// is paused, resumed and deleted.
func runLifecycle(ctx context.Context, e *env) error {
	res := &clusterLifecycleResult{Runs: envInt("BENCH_LIFECYCLE_RUNS", 3)}
	defer func() {
		e.results.mu.Lock()
		e.results.Lifecycle = res
		e.results.mu.Unlock()
	}()
	h, down, why := syncHost(ctx)
	if why != "" {
		res.Unavailable = why
		progress("lifecycle: %s", why)
		return nil
	}
	if down != nil {
		defer down()
	}
	if err := ensureImage(ctx, h); err != nil {
		res.Unavailable = "no vkube image: " + shorten(err.Error(), 160)
		progress("lifecycle: %s", res.Unavailable)
		return nil
	}
	hc, err := h.Client()
	if err != nil {
		return err
	}
	c, err := newCLI(e, h, filepath.Join(e.work, "lifecycle"))
	if err != nil {
		res.Unavailable = shorten(err.Error(), 160)
		return nil
	}
	var errs []error
	for i := range res.Runs {
		if ctx.Err() != nil {
			break
		}
		if err := lifecycleRun(ctx, c, hc, fmt.Sprintf("vkbench-life-%d", i), res); err != nil {
			progress("lifecycle: run %d FAILED: %v", i+1, err)
			errs = append(errs, fmt.Errorf("run %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}

// lifecycleRun is one virtual cluster from create to delete.
func lifecycleRun(ctx context.Context, c *vkubeCLI, hc kubernetes.Interface, name string, res *clusterLifecycleResult) error {
	ns := "vkube-" + name
	c.leftoverCluster(ctx, hc, name)
	defer c.deleteCluster(hc, name)

	began := time.Now()
	cctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	_, err := c.run(cctx, "create", name, "--connect=false")
	cancel()
	if err != nil {
		return err
	}
	returned := time.Since(began)
	// The tenant's kubectl, through the port-forward `vkube connect` runs for it.
	if err := pollUntil(ctx, 3*time.Minute, "the tenant's kubectl through vkube connect", func() bool {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := c.run(cctx, "connect", name, "--", "kubectl", "get", "namespaces", "-o", "name")
		return err == nil && strings.Contains(out, "namespace/kube-system")
	}); err != nil {
		return err
	}
	took := time.Since(began)
	res.CreateSeconds = append(res.CreateSeconds, took.Seconds())
	res.CreateReturnedSeconds = append(res.CreateReturnedSeconds, returned.Seconds())
	progress("lifecycle: %s: vkube create returned after %.1fs, the tenant's kubectl works after %.1fs", name, returned.Seconds(), took.Seconds())

	manifest := filepath.Join(filepath.Dir(c.log), name+"-hello.yaml")
	if err := writeDeployment(manifest, "hello", 2); err != nil {
		return err
	}
	cctx, cancel = context.WithTimeout(ctx, time.Minute)
	_, err = c.run(cctx, "connect", name, "--", "kubectl", "apply", "-f", manifest)
	cancel()
	if err != nil {
		return err
	}
	running := func() bool { return runningSynced(ctx, hc, ns, name) == 2 }
	if err := pollUntil(ctx, 3*time.Minute, "2 pods of the Deployment Running on the host", running); err != nil {
		return err
	}

	began = time.Now()
	cctx, cancel = context.WithTimeout(ctx, 6*time.Minute)
	_, err = c.run(cctx, "pause", name)
	cancel()
	if err != nil {
		return err
	}
	returned = time.Since(began)
	if err := pollUntil(ctx, 3*time.Minute, "every host pod of "+ns+" gone", func() bool {
		pods, err := hc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) == 0
	}); err != nil {
		return err
	}
	took = time.Since(began)
	res.PauseSeconds = append(res.PauseSeconds, took.Seconds())
	progress("lifecycle: %s: vkube pause returned after %.1fs, every host pod gone after %.1fs", name, returned.Seconds(), took.Seconds())

	began = time.Now()
	cctx, cancel = context.WithTimeout(ctx, 6*time.Minute)
	_, err = c.run(cctx, "resume", name)
	cancel()
	if err != nil {
		return err
	}
	returned = time.Since(began)
	if err := pollUntil(ctx, 3*time.Minute, "the Deployment's 2 pods Running on the host again", running); err != nil {
		return err
	}
	took = time.Since(began)
	res.ResumeSeconds = append(res.ResumeSeconds, took.Seconds())
	progress("lifecycle: %s: vkube resume returned after %.1fs, the workloads Running again after %.1fs", name, returned.Seconds(), took.Seconds())
	return nil
}

// writeDeployment writes a Deployment of the hello image (loaded into the host by the harness)
// for kubectl apply -f.
func writeDeployment(path, name string, replicas int32) error {
	d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "hello", Image: images.Hello.Ref, ImagePullPolicy: corev1.PullIfNotPresent}}}},
		}}
	data, err := yaml.Marshal(d)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// runningSynced counts the Running host pods the syncer of vcluster made in ns (-1: no answer).
func runningSynced(ctx context.Context, hc kubernetes.Interface, ns, vcluster string) int {
	pods, err := hc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=" + vcluster})
	if err != nil {
		return -1
	}
	n := 0
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

// pollUntil polls cond every 200 ms until it holds, ctx ends or timeout passes.
func pollUntil(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, timeout)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}
