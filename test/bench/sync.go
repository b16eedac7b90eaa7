package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"vkube.io/vkube/binaries"
	"vkube.io/vkube/test/framework"
	"vkube.io/vkube/test/hostcluster"
	"vkube.io/vkube/test/images"
)

// syncOptions size figure 6 (environment only: BENCH_SYNC_*).
type syncOptions struct {
	Burst     int // BENCH_SYNC_BURST: pods of the latency burst
	Bursts    int // BENCH_SYNC_BURSTS: bursts per side; the one with the median p50 is shown
	Pods      int // BENCH_SYNC_PODS: pods of the sustained-rate batch
	Running   int // BENCH_SYNC_RUNNING: pods on the real kubelet (its maxPods is 50)
	Lifecycle int // BENCH_SYNC_LIFECYCLE: pods whose host requests are counted
	Workers   int // BENCH_SYNC_WORKERS: goroutines creating pods
}

// phaseLabel marks every pod of the figure with its phase, for deletecollection.
const phaseLabel = "vkbench-phase"

// runSync is figure 6: pods between the virtual cluster of a local `vkube start
// --host-kubeconfig` and the host cluster of test/hostcluster (the one `make host-up` left, or
// one brought up and down here), with the harness's kwok node where the real kubelet would be
// the limit. The host alone, creating the same pods on the kwok node itself, is the reference.
// Without a host cluster (no root, missing parts) the rows say n/a and why.
func runSync(ctx context.Context, e *env) error {
	o := syncOptions{Burst: envInt("BENCH_SYNC_BURST", 100), Bursts: max(envInt("BENCH_SYNC_BURSTS", 3), 1), Pods: envInt("BENCH_SYNC_PODS", 500),
		Running: envInt("BENCH_SYNC_RUNNING", 20), Lifecycle: envInt("BENCH_SYNC_LIFECYCLE", 50), Workers: envInt("BENCH_SYNC_WORKERS", 20)}
	res := &syncResult{}
	e.results.mu.Lock()
	e.results.Config["sync"] = o
	e.results.mu.Unlock()
	defer func() {
		e.results.mu.Lock()
		e.results.Sync = res
		e.results.mu.Unlock()
	}()
	s, done, err := openSyncRun(ctx, e, o, res)
	if s == nil || err != nil {
		return err
	}
	defer done()
	var errs []error
	fail := func(what string, err error) {
		if err != nil {
			progress("sync: %s FAILED: %v", what, err)
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	if s.kwok {
		fail("bare burst and rate", s.bare(ctx))
	}
	fail("vkube burst, rate and running", s.direct(ctx))
	if s.kwok {
		fail("vkube host requests", s.lifecycle(ctx))
	}
	return errors.Join(errs...)
}

// openSyncRun finds or brings up the host cluster and its kwok node for a run; s is nil (and
// res.Unavailable says why) when there is no host. done takes down what it brought up.
func openSyncRun(ctx context.Context, e *env, o syncOptions, res *syncResult) (s *syncRun, done func(), err error) {
	h, down, why := syncHost(ctx)
	if why != "" {
		res.Unavailable = why
		progress("sync: %s", why)
		return nil, nil, nil
	}
	var stops []func()
	done = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if down != nil {
		stops = append(stops, down)
	}
	s = &syncRun{e: e, o: o, res: res, host: h}
	if s.hcfg, err = restConfig(h.Kubeconfig()); err == nil {
		s.hc, err = kubernetes.NewForConfig(s.hcfg)
	}
	if err != nil {
		done()
		return nil, nil, err
	}
	res.HostNodeIP = h.Config().NodeIP
	if stopKwok, why := s.kwokNode(ctx); why != "" {
		res.KwokUnavailable = why
		progress("sync: no kwok node, so only the real kubelet's figure: %s", why)
	} else {
		s.kwok = true
		stops = append(stops, stopKwok)
	}
	return s, done, nil
}

// syncRun is the state of one run of figure 6.
type syncRun struct {
	e    *env
	o    syncOptions
	res  *syncResult
	host *hostcluster.Cluster
	hcfg *rest.Config
	hc   kubernetes.Interface
	kwok bool
}

// syncHost finds the running host cluster in HOST_DIR (default: the module's .vkube/host, where
// `make host-up` puts it) or brings one up there; down is set when it did. why says why there
// is none.
func syncHost(ctx context.Context) (c *hostcluster.Cluster, down func(), why string) {
	// The bench points VKUBE_BINARIES_DIR at its private copies of the control plane, which
	// have no kubelet: the host cluster finds its binaries where `make host-up` put them.
	if saved, ok := os.LookupEnv(binaries.EnvDir); ok {
		os.Unsetenv(binaries.EnvDir)
		defer os.Setenv(binaries.EnvDir, saved)
	}
	dir := os.Getenv("HOST_DIR")
	if dir == "" {
		dir = filepath.Join(framework.RepoRoot(), ".vkube", "host")
	}
	if c, err := hostcluster.Open(dir); err == nil && c.Running() {
		progress("sync: using the host cluster running in %s", dir)
		return c, nil, ""
	}
	cfg := hostcluster.DefaultConfig(dir)
	cfg.Log = progressWriter{prefix: "sync: host-up: "}
	if err := hostcluster.CheckPrerequisites(cfg); err != nil {
		return nil, nil, "no host cluster: " + shorten(err.Error(), 160)
	}
	progress("sync: bringing up a host cluster in %s (taken down afterwards)", dir)
	uctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	c, err := hostcluster.Up(uctx, cfg)
	down = func() {
		dctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := hostcluster.Down(dctx, dir); err != nil {
			progress("sync: host cluster down: %v", err)
		}
	}
	if err != nil {
		down()
		return nil, nil, "host cluster did not come up: " + shorten(err.Error(), 160)
	}
	return c, down, ""
}

// kwokNode brings up the harness's kwok node, building kwok (hack/kwok.sh) when the cache has
// none; stop removes the node again when this run added it.
func (s *syncRun) kwokNode(ctx context.Context) (stop func(), why string) {
	bin := hostcluster.FindKwok()
	if bin == "" {
		progress("sync: kwok not built: running hack/kwok.sh (a few minutes)")
		cmd := exec.CommandContext(ctx, filepath.Join(framework.RepoRoot(), "hack", "kwok.sh"))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, "kwok could not be built: " + shorten(err.Error(), 120)
		}
		bin = strings.TrimSpace(string(out))
	}
	s.res.Kwok = bin
	began := time.Now()
	started, err := s.host.UpKwokNode(ctx, bin)
	if err != nil {
		return nil, "kwok node: " + shorten(err.Error(), 160)
	}
	progress("sync: kwok node %s schedulable in %.1fs", hostcluster.KwokNodeName, time.Since(began).Seconds())
	return func() {
		if !started {
			return
		}
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := s.host.DownKwokNode(dctx); err != nil {
			progress("sync: %v", err)
		}
	}, ""
}

// bare creates the burst and the rate batch on the host directly, onto the kwok node.
func (s *syncRun) bare(ctx context.Context) error {
	const ns = "vkbench-bare"
	if err := freshNamespace(ctx, s.hc, ns); err != nil {
		return err
	}
	defer deleteNamespace(s.hc, ns)
	seen, err := watchPods(ctx, s.hc, ns)
	if err != nil {
		return err
	}
	defer seen.stop()
	for range s.o.Bursts {
		r, err := s.batch(ctx, "bare burst", s.hc, ns, "burst", s.o.Burst, seen, nil, true)
		if err != nil {
			return err
		}
		s.res.BareBursts = append(s.res.BareBursts, r)
	}
	s.res.BareBurst = medianBurst(s.res.BareBursts)
	s.res.BareRate, err = s.batch(ctx, "bare rate", s.hc, ns, "rate", s.o.Pods, seen, nil, true)
	return err
}

// direct measures the burst, the rate batch and status back from the real kubelet against a
// vkube that reaches the host directly.
func (s *syncRun) direct(ctx context.Context) error {
	c, err := s.startCluster(ctx, "vkbench-sync", s.host.Kubeconfig())
	if err != nil {
		return err
	}
	defer c.stop(s.hc)
	if err := c.warmUp(ctx, s.kwok); err != nil {
		return err
	}
	var errs []error
	if s.kwok {
		if err := c.virtualNamespace(ctx, "burst"); err != nil {
			return err
		}
		for range s.o.Bursts {
			r, err := s.batch(ctx, "vkube burst", c.vc, "burst", "burst", s.o.Burst, c.host, c.virt, true)
			if err != nil {
				errs = append(errs, err)
				break
			}
			s.res.Bursts = append(s.res.Bursts, r)
			if err := c.cleanUp(ctx, "burst", "burst"); err != nil {
				return err
			}
		}
		s.res.Burst = medianBurst(s.res.Bursts)
		if err := c.virtualNamespace(ctx, "rate"); err != nil {
			return err
		}
		if s.res.Rate, err = s.batch(ctx, "vkube rate", c.vc, "rate", "rate", s.o.Pods, c.host, c.virt, true); err != nil {
			errs = append(errs, err)
		} else if err := c.cleanUp(ctx, "rate", "rate"); err != nil {
			return err
		}
	}
	if s.res.Running, err = c.running(ctx, s.o); err != nil {
		errs = append(errs, err)
	}
	if s.res.DNS, err = s.dns(ctx, c); err != nil {
		errs = append(errs, fmt.Errorf("dns: %w", err))
	}
	return errors.Join(errs...)
}

// batch creates n pods named prefix-NNNN in ns through cs from the workers and times each until
// seen (a host watch) has it. kwok puts them on the kwok node, otherwise on the real kubelet.
// virt, when set, watches the virtual pods: how long their own watch took to see them is noted
// too, to tell the virtual apiserver's share of the latency from the syncer's.
func (s *syncRun) batch(ctx context.Context, what string, cs kubernetes.Interface, ns, prefix string, n int, seen, virt *podTimes, kwok bool) (*batchResult, error) {
	pods := make([]*corev1.Pod, n)
	keys := make([]string, n)
	for i := range pods {
		pods[i] = benchPod(fmt.Sprintf("%s-%04d", prefix, i), prefix, kwok)
		keys[i] = ns + "/" + pods[i].Name
	}
	seen.forget(keys)
	if virt != nil {
		virt.forget(keys)
	}
	began := time.Now()
	returned, err := createPods(ctx, cs, ns, pods, s.o.Workers)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := seen.wait(ctx, keys, false, 3*time.Minute); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	r := &batchResult{Pods: n, Workers: s.o.Workers}
	at := seen.times(keys, false)
	var lat []time.Duration
	var lastReturned, lastSeen time.Time
	for i := range keys {
		lat = append(lat, at[i].Sub(returned[i]))
		lastReturned, lastSeen = later(lastReturned, returned[i]), later(lastSeen, at[i])
	}
	r.Latency = summarise(lat)
	if virt != nil {
		var vlat []time.Duration
		for i, at := range virt.times(keys, false) {
			if !at.IsZero() {
				vlat = append(vlat, at.Sub(returned[i]))
			}
		}
		l := summarise(vlat)
		r.VirtualWatch = &l
		progress("sync: %s: create → seen by a watch on the virtual cluster p50 %.0f ms, p99 %.0f ms", what, l.P50Ms, l.P99Ms)
	}
	r.CreateSeconds, r.SeenSeconds = lastReturned.Sub(began).Seconds(), lastSeen.Sub(began).Seconds()
	r.PodsPerSecond = float64(n) / r.SeenSeconds
	progress("sync: %s of %d pods: created in %.2fs, all on the host after %.2fs (%.0f pods/s); create → host p50 %.0f ms, p99 %.0f ms, max %.0f ms",
		what, n, r.CreateSeconds, r.SeenSeconds, r.PodsPerSecond, r.Latency.P50Ms, r.Latency.P99Ms, r.Latency.MaxMs)
	if cs == s.hc {
		// The bare side cleans up at once: kwok removes a pod deleted without grace.
		if err := s.hc.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: new(int64)},
			metav1.ListOptions{LabelSelector: phaseLabel + "=" + prefix}); err != nil {
			return r, err
		}
		if err := seen.waitGone(ctx, keys, 3*time.Minute); err != nil {
			return r, fmt.Errorf("%s: cleaning up: %w", what, err)
		}
	}
	return r, nil
}

// lifecycle counts the host requests of virtual pods from create to gone, with a vkube that
// reaches the host through a counting proxy (a vkube of its own, so the proxy's hop is in none
// of the timed figures).
func (s *syncRun) lifecycle(ctx context.Context) error {
	p, err := startCountingProxy(s.hcfg)
	if err != nil {
		return err
	}
	defer p.close()
	kc := filepath.Join(s.e.work, "sync", "proxy.kubeconfig")
	if err := os.MkdirAll(filepath.Dir(kc), 0o755); err != nil {
		return err
	}
	if err := p.writeKubeconfig(kc); err != nil {
		return err
	}
	c, err := s.startCluster(ctx, "vkbench-count", kc)
	if err != nil {
		return err
	}
	defer c.stop(s.hc)
	if err := c.warmUp(ctx, true); err != nil {
		return err
	}
	const ns = "lifecycle"
	if err := c.virtualNamespace(ctx, ns); err != nil {
		return err
	}
	r := &lifecycleResult{Pods: s.o.Lifecycle, IdleSeconds: 5,
		Method: "a reverse proxy between vkube and the host apiserver counts every request of vkube's host clients"}
	idle := p.snapshot()
	if err := sleepCtx(ctx, time.Duration(r.IdleSeconds*float64(time.Second))); err != nil {
		return err
	}
	before := p.snapshot()
	r.IdleByKind = diffCounts(idle, before)
	for _, v := range r.IdleByKind {
		r.IdleRequests += v
	}
	began := time.Now()
	pods := make([]*corev1.Pod, r.Pods)
	keys := make([]string, r.Pods)
	for i := range pods {
		pods[i] = benchPod(fmt.Sprintf("life-%04d", i), ns, true)
		keys[i] = ns + "/" + pods[i].Name
	}
	if _, err := createPods(ctx, c.vc, ns, pods, s.o.Workers); err != nil {
		return err
	}
	if err := c.virt.wait(ctx, keys, true, 3*time.Minute); err != nil {
		return fmt.Errorf("virtual pods Running: %w", err)
	}
	if err := c.cleanUp(ctx, ns, ns); err != nil {
		return err
	}
	// Token Secrets go after their pods; give the last of them a moment.
	if err := sleepCtx(ctx, 2*time.Second); err != nil {
		return err
	}
	r.Seconds = time.Since(began).Seconds()
	r.ByKind = diffCounts(before, p.snapshot())
	for _, v := range r.ByKind {
		r.Requests += v
	}
	r.PerPod = float64(r.Requests) / float64(r.Pods)
	progress("sync: %d virtual pods created → Running → deleted in %.1fs: %d host requests, %.2f per pod (%s); %d requests in %.0fs idle before",
		r.Pods, r.Seconds, r.Requests, r.PerPod, perPodKinds(r.ByKind, r.Pods), r.IdleRequests, r.IdleSeconds)
	s.res.Lifecycle = r
	return nil
}

// medianBurst is the burst with the median p50 (nil for none): its p50 and p99 come from one run.
func medianBurst(rs []*batchResult) *batchResult {
	if len(rs) == 0 {
		return nil
	}
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b *batchResult) int { return cmp.Compare(a.Latency.P50Ms, b.Latency.P50Ms) })
	return sorted[len(sorted)/2]
}

// createPods creates pods in ns from workers goroutines; returned[i] is when the create of
// pods[i] returned.
func createPods(ctx context.Context, cs kubernetes.Interface, ns string, pods []*corev1.Pod, workers int) ([]time.Time, error) {
	returned := make([]time.Time, len(pods))
	err := parallel(ctx, len(pods), workers, func(i int) error {
		_, err := cs.CoreV1().Pods(ns).Create(ctx, pods[i], metav1.CreateOptions{})
		returned[i] = time.Now()
		if err != nil {
			return fmt.Errorf("create %s/%s: %w", ns, pods[i].Name, err)
		}
		return nil
	})
	return returned, err
}

// benchPod is a pod of the phase: for the kwok node (tolerating its taint, selecting it), or
// for the real kubelet (the pause image every pod sandbox runs, so nothing is pulled). It keeps
// the default service account token, as most pods do: vkube mints it and stores it on the host.
func benchPod(name, phase string, kwok bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{phaseLabel: phase}},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{{Name: "pause", Image: images.Pause.Ref, ImagePullPolicy: corev1.PullIfNotPresent}},
			TerminationGracePeriodSeconds: new(int64(1)),
		},
	}
	if kwok {
		p.Spec.Tolerations = []corev1.Toleration{hostcluster.KwokToleration()}
		p.Spec.NodeSelector = hostcluster.KwokNodeSelector()
	}
	return p
}

// freshNamespace creates ns on the host, deleting one an earlier run left first, and waits for
// its default service account (pods cannot be created before).
func freshNamespace(ctx context.Context, hc kubernetes.Interface, ns string) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		_, err := hc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("host namespace %s: %w", ns, err)
		}
		if live, err := hc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil && live.DeletionTimestamp == nil {
			progress("sync: deleting host namespace %s left by an earlier run", ns)
			deleteNamespace(hc, ns)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("host namespace %s of an earlier run still terminating", ns)
		}
		if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
	return waitServiceAccount(ctx, hc, ns)
}

func waitServiceAccount(ctx context.Context, cs kubernetes.Interface, ns string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("default service account of %s: %w", ns, err)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func deleteNamespace(hc kubernetes.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hc.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		progress("sync: deleting host namespace %s: %v", ns, err)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// shorten keeps the first line of s, at most n bytes of it.
func shorten(s string, n int) string {
	s = firstLine(s)
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// progressWriter turns the lines written to it into progress lines.
type progressWriter struct{ prefix string }

func (w progressWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		progress("%s%s", w.prefix, line)
	}
	return len(p), nil
}
