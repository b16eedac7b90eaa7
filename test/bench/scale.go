package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"vkube.io/vkube/syncer/translate"
)

// scaleSize is one virtual cluster's load: pods on the kwok node, and ConfigMaps and Secrets of
// which the first used of each are used by the pods (pod i uses object i mod used).
type scaleSize struct {
	Pods, Objects, Used int
}

// scaleSample is vkube's supervisor (the syncer and the embedded datastore; not the control
// plane's children) idling with one size synced.
type scaleSample struct {
	scaleSize
	IdleSeconds      float64
	CPUSecondsPerMin float64
	RSSMiB           float64
	// TreeCPUSecondsPerMin is the same for vkube and its children.
	TreeCPUSecondsPerMin float64
}

type scaleResult struct {
	Small, Large *scaleSample `json:",omitempty"`
	// Fleet: clusters syncing to one host at once, idle, and the host requests they send.
	Fleet *fleetResult `json:",omitempty"`
	Error string       `json:",omitempty"`
}

type fleetResult struct {
	Clusters         int
	IdleSeconds      float64
	Requests         int
	PerClusterPerSec float64
	ByKind           map[string]int
}

// runScale is issue 17's scale figure: the idle cost of one virtual cluster with 100 pods and
// 500 ConfigMaps + 500 Secrets against 1000 pods and 5000 + 5000 (a tenth of each used by pods),
// over an idle window that holds a resync of every informer (5 min); then 20 virtual clusters
// syncing to one host, and the host requests they send at idle. To iterate on one figure:
// BENCH_SCALE_SIZES=large runs one size, BENCH_SCALE_CLUSTERS=0 skips the fleet, and
// BENCH_SCALE_PROFILES=dir (with BENCH_VKUBE_ARGS=--profiling) keeps vkube's heap profiles
// taken at the end of each idle window.
func runScale(ctx context.Context, e *env) error {
	res := &scaleResult{}
	defer func() {
		e.results.mu.Lock()
		e.results.Scale = res
		e.results.mu.Unlock()
	}()
	sres := &syncResult{}
	s, done, err := openSyncRun(ctx, e, syncOptions{Workers: 20}, sres)
	if err != nil {
		return err
	}
	if s == nil || !s.kwok {
		res.Error = "no host cluster with a kwok node: " + sres.Unavailable + sres.KwokUnavailable
		return nil
	}
	defer done()
	idle := envDuration("BENCH_SCALE_IDLE", 330*time.Second)
	sizes := envOr("BENCH_SCALE_SIZES", "small,large")
	for _, sz := range []struct {
		name string
		into **scaleSample
		size scaleSize
	}{{"small", &res.Small, scaleSize{100, 500, 100}}, {"large", &res.Large, scaleSize{1000, 5000, 1000}}} {
		if !strings.Contains(sizes, sz.name) {
			continue
		}
		if *sz.into, err = s.scaleOne(ctx, sz.size, idle); err != nil {
			return fmt.Errorf("scale %d pods: %w", sz.size.Pods, err)
		}
	}
	if n := envInt("BENCH_SCALE_CLUSTERS", 20); n > 0 {
		res.Fleet, err = s.fleet(ctx, n, envDuration("BENCH_SCALE_FLEET_IDLE", 60*time.Second))
	}
	return err
}

// scaleOne loads a fresh virtual cluster with sz, waits until the used objects' and the pods'
// twins are on the host, and measures the supervisor over idle.
func (s *syncRun) scaleOne(ctx context.Context, sz scaleSize, idle time.Duration) (*scaleSample, error) {
	c, err := s.startCluster(ctx, fmt.Sprintf("vkbench-scale-%d", sz.Pods), s.host.Kubeconfig())
	if err != nil {
		return nil, err
	}
	defer c.stop(s.hc)
	const ns = "scale"
	if err := c.virtualNamespace(ctx, ns); err != nil {
		return nil, err
	}
	began := time.Now()
	value := strings.Repeat("x", 1024)
	if err := parallel(ctx, sz.Objects, 20, func(i int) error {
		name := fmt.Sprintf("obj-%05d", i)
		if _, err := c.vc.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name},
			Data: map[string]string{"value": value}}, metav1.CreateOptions{}); err != nil {
			return err
		}
		_, err := c.vc.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name},
			StringData: map[string]string{"value": value}}, metav1.CreateOptions{})
		return err
	}); err != nil {
		return nil, fmt.Errorf("objects: %w", err)
	}
	pods := make([]*corev1.Pod, sz.Pods)
	keys := make([]string, sz.Pods)
	for i := range pods {
		p := benchPod(fmt.Sprintf("scale-%05d", i), ns, true)
		obj := fmt.Sprintf("obj-%05d", i%sz.Used)
		p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: obj}}},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: obj}}},
		}
		pods[i], keys[i] = p, ns+"/"+p.Name
	}
	if _, err := createPods(ctx, c.vc, ns, pods, s.o.Workers); err != nil {
		return nil, err
	}
	if err := c.host.wait(ctx, keys, false, 10*time.Minute); err != nil {
		return nil, fmt.Errorf("pods on the host: %w", err)
	}
	if err := waitTwins(ctx, s.hc, c.name, 2*sz.Used); err != nil {
		return nil, err
	}
	progress("scale: %d pods, %d ConfigMaps + %d Secrets (%d of each used) synced in %.0fs; idling %s", sz.Pods, sz.Objects, sz.Objects, sz.Used, time.Since(began).Seconds(), idle)
	pid := c.v.proc.pid()
	cpu0, tree0, t0 := ownCPUSeconds(pid), cpuSeconds(pid), time.Now()
	if err := sleepCtx(ctx, idle); err != nil {
		return nil, err
	}
	mins := time.Since(t0).Minutes()
	r := &scaleSample{scaleSize: sz, IdleSeconds: time.Since(t0).Seconds(), RSSMiB: rssMiB(pid),
		CPUSecondsPerMin: (ownCPUSeconds(pid) - cpu0) / mins, TreeCPUSecondsPerMin: (cpuSeconds(pid) - tree0) / mins}
	progress("scale: %d pods idle: vkube %.2f CPU-s/min (with its children %.2f), RSS %.0f MiB", sz.Pods, r.CPUSecondsPerMin, r.TreeCPUSecondsPerMin, r.RSSMiB)
	if dir := os.Getenv("BENCH_SCALE_PROFILES"); dir != "" {
		c.v.saveProfiles(ctx, filepath.Join(dir, strconv.Itoa(sz.Pods)))
	}
	return r, nil
}

// waitTwins waits until the host namespace ns (named after its virtual cluster) holds n synced ConfigMaps and Secrets together.
func waitTwins(ctx context.Context, hc kubernetes.Interface, ns string, n int) error {
	var have int
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		sel := metav1.ListOptions{LabelSelector: translate.LabelManagedBy + "=" + ns}
		cms, err := hc.CoreV1().ConfigMaps(ns).List(ctx, sel)
		if err != nil {
			return false, nil
		}
		secs, err := hc.CoreV1().Secrets(ns).List(ctx, sel)
		if err != nil {
			return false, nil
		}
		have = len(cms.Items) + len(secs.Items)
		return have >= n, nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d ConfigMap and Secret twins on the host: %w", have, n, err)
	}
	return nil
}

// fleet starts n virtual clusters against the host through one counting proxy, each with a
// pod, and counts the host requests they all send over idle.
func (s *syncRun) fleet(ctx context.Context, n int, idle time.Duration) (*fleetResult, error) {
	p, err := startCountingProxy(s.hcfg)
	if err != nil {
		return nil, err
	}
	defer p.close()
	kc := filepath.Join(s.e.work, "scale", "proxy.kubeconfig")
	if err := os.MkdirAll(filepath.Dir(kc), 0o755); err != nil {
		return nil, err
	}
	if err := p.writeKubeconfig(kc); err != nil {
		return nil, err
	}
	var clusters []*syncCluster
	defer func() {
		var wg sync.WaitGroup
		for _, c := range clusters {
			wg.Go(func() { c.stop(s.hc) })
		}
		wg.Wait()
	}()
	for i := range n {
		c, err := s.startCluster(ctx, fmt.Sprintf("vkbench-fleet-%02d", i), kc)
		if err != nil {
			return nil, err
		}
		clusters = append(clusters, c)
		if err := c.virtualNamespace(ctx, "fleet"); err != nil {
			return nil, err
		}
		if _, err := createPods(ctx, c.vc, "fleet", []*corev1.Pod{benchPod("idle", "fleet", true)}, 1); err != nil {
			return nil, err
		}
	}
	// Let the last ones' start-up requests (lists, the pod's create) pass first.
	if err := sleepCtx(ctx, 20*time.Second); err != nil {
		return nil, err
	}
	before := p.snapshot()
	t0 := time.Now()
	if err := sleepCtx(ctx, idle); err != nil {
		return nil, err
	}
	r := &fleetResult{Clusters: n, IdleSeconds: time.Since(t0).Seconds(), ByKind: diffCounts(before, p.snapshot())}
	for _, v := range r.ByKind {
		r.Requests += v
	}
	r.PerClusterPerSec = float64(r.Requests) / float64(n) / r.IdleSeconds
	progress("scale: %d clusters idle for %.0fs sent %d host requests (%.3f per cluster per second): %v", n, r.IdleSeconds, r.Requests, r.PerClusterPerSec, r.ByKind)
	return r, nil
}

// parallel runs f(0..n-1) from workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, f func(i int) error) error {
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range max(workers, 1) {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// rows renders the scale figure.
func (x *scaleResult) rows() []row {
	var out []row
	if x.Error != "" {
		return append(out, row{Figure: "scale of one virtual cluster", Vkube: "n/a (" + x.Error + ")", Bare: "—", Ratio: "—", Target: "—"})
	}
	if x.Small != nil && x.Large != nil {
		ratio := 0.0
		if x.Small.CPUSecondsPerMin > 0 {
			ratio = x.Large.CPUSecondsPerMin / x.Small.CPUSecondsPerMin
		}
		out = append(out,
			row{Figure: fmt.Sprintf("vkube CPU at idle over %.0f s (resyncs included), 1000 pods + 5000 ConfigMaps + 5000 Secrets vs 100 + 500 + 500 (CPU-s/min; with children)", x.Large.IdleSeconds),
				Vkube: fmt.Sprintf("%.2f vs %.2f; %.2f vs %.2f", x.Large.CPUSecondsPerMin, x.Small.CPUSecondsPerMin, x.Large.TreeCPUSecondsPerMin, x.Small.TreeCPUSecondsPerMin),
				Bare:  "—", Ratio: fmt.Sprintf("%.2f×", ratio), Target: verdict("≤ 2×", ratio <= 2)},
			row{Figure: "vkube RSS at idle, 1000 pods + 5000 ConfigMaps + 5000 Secrets (MiB; 100-pod size)", Vkube: fmt.Sprintf("%.0f (%.0f)", x.Large.RSSMiB, x.Small.RSSMiB),
				Bare: "—", Ratio: "—", Target: verdict("≤ 150 MiB", x.Large.RSSMiB <= 150)})
	}
	if f := x.Fleet; f != nil {
		out = append(out, row{Figure: fmt.Sprintf("%d virtual clusters on one host, idle %.0f s: host API requests per cluster per second", f.Clusters, f.IdleSeconds),
			Vkube: fmt.Sprintf("%.3f", f.PerClusterPerSec), Bare: "—", Ratio: "—", Target: verdict("≤ 1", f.PerClusterPerSec <= 1)})
	}
	return out
}
