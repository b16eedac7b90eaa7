package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"vkube.io/vkube/test/framework"
)

// haIPs are the loopback addresses of the local replicas: each embedded etcd member listens on
// the fixed client and peer ports of its own address.
var haIPs = []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}

// runHA is the HA part. Locally, without a host: 3 `vkube start` replicas on 127.0.0.2–4 forming
// one embedded etcd cluster (replica 0's PKI copied to the others, as the integration test
// does); the write throughput of 3 replicas against a single embedded-etcd vkube; and
// BENCH_HA_KILLS (5) SIGKILLs rotating over the replicas, each restarted with its data, while a
// writer through a surviving replica records every acknowledged write and how long none was. On
// the real host: the syncer's hand-over when the pod holding its Lease is killed.
func runHA(ctx context.Context, e *env) error {
	res := &haResult{Kills: envInt("BENCH_HA_KILLS", 5), Creates: e.creates, Clients: envInt("BENCH_HA_CLIENTS", 10),
		HandoverKills: envInt("BENCH_HA_HANDOVERS", 3)}
	defer func() {
		e.results.mu.Lock()
		e.results.HA = res
		e.results.mu.Unlock()
	}()
	var errs []error
	if why := haAddressesFree(); why != "" {
		res.Unavailable = why
		progress("ha: %s", why)
	} else if err := haLocal(ctx, e, res); err != nil {
		progress("ha: local replicas FAILED: %v", err)
		errs = append(errs, fmt.Errorf("local replicas: %w", err))
	}
	if ctx.Err() == nil {
		if err := haHandover(ctx, e, res); err != nil {
			progress("ha: syncer hand-over FAILED: %v", err)
			errs = append(errs, fmt.Errorf("syncer hand-over: %w", err))
		}
	}
	return errors.Join(errs...)
}

// haAddressesFree says why the local replicas cannot run: an address that cannot be bound, or
// etcd ports another process (another HA test) holds.
func haAddressesFree() string {
	for _, ip := range haIPs {
		for _, port := range []int{2379, 2380} {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				return "cannot listen on " + ip + ":" + strconv.Itoa(port) + ": " + shorten(err.Error(), 100)
			}
			l.Close()
		}
	}
	return ""
}

// haReplica is one `vkube start` of the local HA cluster; a restart reuses its data and ports.
type haReplica struct {
	*vkubeCluster
	spec procSpec
}

func haLocal(ctx context.Context, e *env, res *haResult) error {
	dir := filepath.Join(e.work, "ha")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	values := filepath.Join(dir, "ha.yaml")
	if err := os.WriteFile(values, []byte(framework.HAValues), 0o644); err != nil {
		return err
	}
	reps, err := haReplicas(e, dir, values)
	if err != nil {
		return err
	}
	defer func() {
		for _, r := range reps {
			if err := r.stop(); err != nil {
				progress("ha: %v", err)
			}
		}
	}()
	began := time.Now()
	// One PKI for all: the first replica writes it before its datastore waits for a quorum.
	if err := reps[0].start(); err != nil {
		return err
	}
	if err := pollUntil(ctx, time.Minute, "the first replica's PKI", func() bool {
		_, err := os.Stat(filepath.Join(reps[0].dataDir, "pki", "ca.crt"))
		return err == nil || reps[0].proc.exited()
	}); err != nil {
		return err
	}
	if err := sleepCtx(ctx, time.Second); err != nil {
		return err
	}
	for _, r := range reps[1:] {
		if err := copyFiles(filepath.Join(reps[0].dataDir, "pki"), filepath.Join(r.dataDir, "pki")); err != nil {
			return err
		}
		if err := r.start(); err != nil {
			return err
		}
	}
	clients := make([]kubernetes.Interface, len(reps))
	for i, r := range reps {
		if _, err := r.waitUsable(ctx, began, 3*time.Minute); err != nil {
			return fmt.Errorf("replica %d: %w", i, err)
		}
		if clients[i], err = kubernetes.NewForConfig(r.cfg); err != nil {
			return err
		}
	}
	progress("ha: 3 replicas usable in %.1fs", time.Since(began).Seconds())
	if err := sleepCtx(ctx, e.settle); err != nil {
		return err
	}

	var errs []error
	for r := range e.repeats {
		rate, err := parallelCreates(ctx, clients, fmt.Sprintf("tput-%d", r), e.creates, res.Clients)
		if err != nil {
			errs = append(errs, fmt.Errorf("3-replica writes: %w", err))
			break
		}
		res.ThroughputHA = append(res.ThroughputHA, rate)
		progress("ha: %d ConfigMap creates from %d clients spread over 3 replicas: %.0f/s", e.creates, res.Clients, rate)
	}

	if err := haKills(ctx, res, reps, clients); err != nil {
		errs = append(errs, err)
	}
	for _, r := range reps {
		if err := r.stop(); err != nil {
			progress("ha: %v", err)
		}
	}
	if err := haSingle(ctx, e, res); err != nil {
		errs = append(errs, fmt.Errorf("1-replica writes: %w", err))
	}
	return errors.Join(errs...)
}

// haReplicas prepares (does not start) the replicas: the integration test's flags, each API and
// health endpoint on the replica's own address.
func haReplicas(e *env, dir, values string) ([]*haReplica, error) {
	var peers, sans []string
	for i, ip := range haIPs {
		peers = append(peers, "--peer", fmt.Sprintf("ha-%d=%s", i, ip))
		sans = append(sans, "--tls-san", ip)
	}
	reps := make([]*haReplica, len(haIPs))
	for i, ip := range haIPs {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		rdir := filepath.Join(dir, fmt.Sprintf("ha-%d", i))
		v := &vkubeCluster{name: fmt.Sprintf("ha-%d", i), dataDir: filepath.Join(rdir, "data"), port: ports[0], health: net.JoinHostPort(ip, strconv.Itoa(ports[1]))}
		args := []string{"start", "--name", "vkbench-ha", "--data-dir", v.dataDir, "--port", strconv.Itoa(v.port), "--health-address", v.health,
			"--kubernetes-version", e.kubeVersion, "-f", values, "--backend", "etcd", "--bind-address", ip, "--member-name", v.name}
		args = append(append(append(args, peers...), sans...), e.vkubeArgs...)
		reps[i] = &haReplica{vkubeCluster: v, spec: procSpec{name: "vkube ha-" + strconv.Itoa(i), path: e.vkubeBin, args: args,
			env: e.vkubeEnv, dir: rdir, log: filepath.Join(rdir, "vkube.log")}}
	}
	return reps, nil
}

func (r *haReplica) start() error {
	p, err := startProc(r.spec)
	if err != nil {
		return err
	}
	r.proc = p
	return nil
}

// kill9 is a replica's pod dying: SIGKILL to vkube, its process group and every descendant at
// once (embedded etcd dies with vkube), then waits for them to be gone.
func (r *haReplica) kill9() {
	pid := r.proc.pid()
	desc := descendants(pid)
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for _, d := range desc {
		_ = syscall.Kill(d, syscall.SIGKILL)
	}
	<-r.proc.done
	killLeftovers(desc)
}

// haKills kills each replica in turn while a writer writes through the next one.
func haKills(ctx context.Context, res *haResult, reps []*haReplica, clients []kubernetes.Interface) error {
	const ns = "writes"
	if err := warmNamespace(ctx, clients, ns); err != nil {
		return err
	}
	var writers []*framework.Writer
	defer func() {
		for _, w := range writers {
			w.Stop()
		}
	}()
	for i := range res.Kills {
		victim := i % len(reps)
		through := (victim + 1) % len(reps)
		w := framework.StartWriter(clients[through], ns, 20*time.Millisecond)
		writers = append(writers, w)
		acks := watchAcks(w)
		if err := pollUntil(ctx, 30*time.Second, "writes acknowledged before the kill", func() bool { return w.Acked() >= 20 }); err != nil {
			acks.stop()
			return fmt.Errorf("kill %d: %w", i+1, err)
		}
		before := w.Acked()
		reps[victim].kill9()
		killed := time.Now()
		resumed := pollUntil(ctx, time.Minute, "writes acknowledged again", func() bool { return w.Acked() >= before+40 })
		if resumed != nil {
			acks.stop()
			return fmt.Errorf("kill %d (replica %d, writing through %d): %w", i+1, victim, through, resumed)
		}
		writesBack := time.Since(killed)
		// Back with its data: the member rejoins, which the writer must not notice either.
		if err := reps[victim].start(); err != nil {
			acks.stop()
			return err
		}
		back, err := reps[victim].waitUsable(ctx, time.Now(), 3*time.Minute)
		if err != nil {
			acks.stop()
			return fmt.Errorf("kill %d: replica %d restarted: %w", i+1, victim, err)
		}
		if clients[victim], err = kubernetes.NewForConfig(reps[victim].cfg); err != nil {
			acks.stop()
			return err
		}
		if err := sleepCtx(ctx, 2*time.Second); err != nil {
			acks.stop()
			return err
		}
		w.Stop()
		gap := acks.stop().longestGapAfter(killed)
		res.Victims = append(res.Victims, victim)
		res.UnavailableSeconds = append(res.UnavailableSeconds, gap.Seconds())
		var failed []float64
		for _, o := range w.Outages() {
			failed = append(failed, o.Seconds())
		}
		res.WriterOutageSeconds = append(res.WriterOutageSeconds, failed)
		progress("ha: kill %d/%d: replica %d SIGKILLed; writing through replica %d: longest span without an acknowledged write %.2fs (writer's failed spans %v); writes flowing again %.1fs after the kill; replica back in %.1fs",
			i+1, res.Kills, victim, through, gap.Seconds(), roundAll(failed), writesBack.Seconds(), back.Seconds())
	}
	// Every acknowledged write, read back through every replica.
	for _, w := range writers {
		w.Stop()
		res.Acked += w.Acked()
	}
	lost := map[string]bool{}
	for i, c := range clients {
		for _, w := range writers {
			names, err := w.Lost(ctx, c)
			if err != nil {
				return fmt.Errorf("listing the writes through replica %d: %w", i, err)
			}
			for _, n := range names {
				lost[n] = true
			}
		}
	}
	res.Lost = len(lost)
	res.LostChecked = true
	progress("ha: %d writes acknowledged over %d kills, %d of them missing through some replica", res.Acked, res.Kills, res.Lost)
	return nil
}

// haSingle runs the write figure against a single-replica vkube on embedded etcd.
func haSingle(ctx context.Context, e *env, res *haResult) error {
	began := time.Now()
	v, err := startVkube(e, "vkbench-ha1", filepath.Join(e.work, "ha", "single"), []string{"--backend", "etcd"}, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err := v.stop(); err != nil {
			progress("ha: %v", err)
		}
	}()
	if _, err := v.waitUsable(ctx, began, 3*time.Minute); err != nil {
		return err
	}
	c, err := kubernetes.NewForConfig(v.cfg)
	if err != nil {
		return err
	}
	if err := sleepCtx(ctx, e.settle); err != nil {
		return err
	}
	for r := range e.repeats {
		rate, err := parallelCreates(ctx, []kubernetes.Interface{c}, fmt.Sprintf("tput-%d", r), e.creates, res.Clients)
		if err != nil {
			return err
		}
		res.ThroughputSingle = append(res.ThroughputSingle, rate)
		progress("ha: %d ConfigMap creates from %d clients against 1 replica: %.0f/s", e.creates, res.Clients, rate)
	}
	return nil
}

// parallelCreates creates n ConfigMaps in a fresh namespace from workers goroutines, goroutine i
// through clients[i%len(clients)] (clients behind a load balancer), and returns creates per
// second from the first create sent to the last returned.
func parallelCreates(ctx context.Context, clients []kubernetes.Interface, ns string, n, workers int) (float64, error) {
	if err := warmNamespace(ctx, clients, ns); err != nil {
		return 0, err
	}
	data := map[string]string{"key": "a small value of a few dozen bytes, like most configuration"}
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	began := time.Now()
	for w := range max(workers, 1) {
		c := clients[w%len(clients)]
		wg.Go(func() {
			for i := range next {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i)}, Data: data}
				if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("create %d: %w", i, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(began)
	if first != nil {
		return 0, first
	}
	return float64(n) / took.Seconds(), nil
}

// warmNamespace creates ns and waits until every client's apiserver admits a create in it (each
// replica's namespace lifecycle admission has its own informer).
func warmNamespace(ctx context.Context, clients []kubernetes.Interface, ns string) error {
	if _, err := clients[0].CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	for i, c := range clients {
		name := fmt.Sprintf("warm-up-%d", i)
		if err := pollUntil(ctx, 30*time.Second, "a create in namespace "+ns+" through client "+strconv.Itoa(i), func() bool {
			_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			return err == nil || apierrors.IsAlreadyExists(err)
		}); err != nil {
			return err
		}
	}
	return nil
}

// ackClock samples a Writer's acknowledged count every 10 ms and notes when it grew, so that a
// stalled request that ends in success counts as unavailability too (the Writer's own outages
// are spans of failed requests only).
type ackClock struct {
	mu    sync.Mutex
	times []time.Time
	quit  chan struct{}
	done  chan struct{}
}

func watchAcks(w *framework.Writer) *ackClock {
	a := &ackClock{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		last := w.Acked()
		a.times = append(a.times, time.Now())
		for {
			select {
			case <-a.quit:
				return
			case now := <-t.C:
				if n := w.Acked(); n > last {
					last = n
					a.mu.Lock()
					a.times = append(a.times, now)
					a.mu.Unlock()
				}
			}
		}
	}()
	return a
}

func (a *ackClock) stop() *ackClock {
	select {
	case <-a.quit:
	default:
		close(a.quit)
	}
	<-a.done
	return a
}

// longestGapAfter is the longest span between two consecutive acknowledged writes that ends
// after t: the span that contains t, and any later one.
func (a *ackClock) longestGapAfter(t time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var longest time.Duration
	for i := 1; i < len(a.times); i++ {
		if a.times[i].After(t) {
			longest = max(longest, a.times[i].Sub(a.times[i-1]))
		}
	}
	return longest
}

// copyFiles copies the files (not subdirectories) of one dir into another, modes kept.
func copyFiles(from, to string) error {
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func roundAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(int(x*100+0.5)) / 100
	}
	return out
}
