package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// syncCluster is one vkube whose virtual cluster lives in a host namespace of the same name,
// with watches on its host pods and on every virtual pod.
type syncCluster struct {
	name string
	v    *vkubeCluster
	vc   kubernetes.Interface
	host *podTimes // host pods in the namespace, keyed by their virtual namespace/name
	virt *podTimes // virtual pods
}

// startCluster runs `vkube start` against the host kubeconfig hostKubeconfig, in a fresh host
// namespace name, the way the end-to-end tests do (startOnHostWith).
func (s *syncRun) startCluster(ctx context.Context, name, hostKubeconfig string) (*syncCluster, error) {
	if err := freshNamespace(ctx, s.hc, name); err != nil {
		return nil, err
	}
	c := &syncCluster{name: name}
	began := time.Now()
	var err error
	c.v, err = startVkube(s.e, name, filepath.Join(s.e.work, "sync", name), []string{"--host-kubeconfig", hostKubeconfig,
		"--host-namespace", name, "--bind-address", "0.0.0.0", "--advertise-address", s.host.Config().NodeIP}, nil)
	if err != nil {
		deleteNamespace(s.hc, name)
		return nil, err
	}
	fail := func(err error) (*syncCluster, error) {
		c.stop(s.hc)
		return nil, err
	}
	took, err := c.v.waitUsable(ctx, began, 3*time.Minute)
	if err != nil {
		return fail(err)
	}
	progress("sync: vkube %s usable in %.1fs", name, took.Seconds())
	if c.vc, err = kubernetes.NewForConfig(c.v.cfg); err != nil {
		return fail(err)
	}
	if c.host, err = watchPods(ctx, s.hc, name); err != nil {
		return fail(err)
	}
	if c.virt, err = watchPods(ctx, c.vc, ""); err != nil {
		return fail(err)
	}
	return c, nil
}

// stop stops the watches and vkube and deletes the host namespace (not waiting for it to go).
func (c *syncCluster) stop(hc kubernetes.Interface) {
	for _, w := range []*podTimes{c.host, c.virt} {
		if w != nil {
			w.stop()
		}
	}
	if err := c.v.stop(); err != nil {
		progress("sync: %v", err)
	}
	deleteNamespace(hc, c.name)
}

// virtualNamespace creates a namespace in the virtual cluster and waits for its service account.
func (c *syncCluster) virtualNamespace(ctx context.Context, ns string) error {
	if _, err := c.vc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("virtual namespace %s: %w", ns, err)
	}
	return waitServiceAccount(ctx, c.vc, ns)
}

// warmUp syncs one pod end to end before anything is timed: the syncer's informers have synced,
// and the fake node the pods are bound to exists. The pod stays, so the fake node does too.
func (c *syncCluster) warmUp(ctx context.Context, kwok bool) error {
	const ns = "warm-up"
	if err := c.virtualNamespace(ctx, ns); err != nil {
		return err
	}
	p := benchPod("warm-up", ns, kwok)
	if _, err := c.vc.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("warm-up pod: %w", err)
	}
	if err := c.virt.wait(ctx, []string{ns + "/" + p.Name}, true, 3*time.Minute); err != nil {
		return fmt.Errorf("warm-up pod: %w", err)
	}
	return nil
}

// running creates pods on the real kubelet and times host pod Running → virtual pod Running.
func (c *syncCluster) running(ctx context.Context, o syncOptions) (*latencies, error) {
	const ns = "running"
	if err := c.virtualNamespace(ctx, ns); err != nil {
		return nil, err
	}
	pods := make([]*corev1.Pod, o.Running)
	keys := make([]string, o.Running)
	for i := range pods {
		pods[i] = benchPod(fmt.Sprintf("running-%02d", i), ns, false)
		keys[i] = ns + "/" + pods[i].Name
	}
	if _, err := createPods(ctx, c.vc, ns, pods, o.Workers); err != nil {
		return nil, err
	}
	if err := c.virt.wait(ctx, keys, true, 3*time.Minute); err != nil {
		return nil, fmt.Errorf("virtual pods Running: %w", err)
	}
	// The host watch may deliver after the virtual one on a loaded machine, though the host
	// pod was Running first.
	if err := c.host.wait(ctx, keys, true, time.Minute); err != nil {
		return nil, fmt.Errorf("host pods Running: %w", err)
	}
	hostAt, virtAt := c.host.times(keys, true), c.virt.times(keys, true)
	var lat []time.Duration
	for i := range keys {
		lat = append(lat, max(virtAt[i].Sub(hostAt[i]), 0))
	}
	l := summarise(lat)
	progress("sync: host pod Running → virtual pod Running, %d pods on the real kubelet: p50 %.0f ms, p99 %.0f ms, max %.0f ms", l.N, l.P50Ms, l.P99Ms, l.MaxMs)
	return &l, c.cleanUp(ctx, ns, ns)
}

// cleanUp deletes the virtual pods of a phase and waits until they and their host twins are gone.
func (c *syncCluster) cleanUp(ctx context.Context, ns, phase string) error {
	sel := metav1.ListOptions{LabelSelector: phaseLabel + "=" + phase}
	list, err := c.vc.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(list.Items))
	for _, p := range list.Items {
		keys = append(keys, ns+"/"+p.Name)
	}
	if err := c.vc.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		return fmt.Errorf("delete the %s pods: %w", phase, err)
	}
	for _, w := range []*podTimes{c.virt, c.host} {
		if err := w.waitGone(ctx, keys, 3*time.Minute); err != nil {
			return fmt.Errorf("deleting the %s pods: %w", phase, err)
		}
	}
	return nil
}
