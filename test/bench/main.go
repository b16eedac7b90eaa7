// Command bench measures vkube against the bare components it runs and prints one markdown
// table: start time per datastore, apiserver restart after SIGKILL, idle memory, write
// throughput per datastore, how many idle virtual clusters one machine holds, and pod sync
// latency, throughput and host API requests against the host cluster (with its kwok node); the
// CLI's create, pause and resume on the host; and HA failover (replica kills, syncer hand-over).
//
//	make bench                                   # everything
//	VKUBE_BIN=$PWD/bin/vkube go run ./test/bench -only memory,restart
//	BENCH_ONLY=start,write BENCH_BACKENDS=sqlite,postgres go run ./test/bench
//
// Every flag has an environment variable (see -help). Progress goes to stderr, the table to
// stdout, and the raw results to bench-results.json. Other environment:
//
//	VKUBE_BIN          the vkube binary (built into the scratch dir when unset)
//	KUBE_VERSION       Kubernetes version of both sides (default v1.34.2)
//	BENCH_VKUBE_ARGS   extra `vkube start` arguments for every vkube run, e.g. "-f tune.yaml"
//	BENCH_VKUBE_ENV    extra environment of every vkube run, e.g. "GOGC=50"
//	HOST_DIR           the host cluster of the sync, lifecycle and ha parts (default: .vkube/host of the module)
//	BENCH_SYNC_BURST, BENCH_SYNC_BURSTS, BENCH_SYNC_PODS, BENCH_SYNC_RUNNING, BENCH_SYNC_LIFECYCLE, BENCH_SYNC_WORKERS
//	                   sizes of the sync part (100, 500, 20, 50 pods; 20 creating goroutines)
//	BENCH_LIFECYCLE_RUNS  virtual clusters created, paused and resumed on the host (3)
//	BENCH_HA_KILLS, BENCH_HA_CLIENTS, BENCH_HA_HANDOVERS
//	                   replica kills (5), writing clients (10) and syncer hand-overs (3) of the ha part
//	VKUBE_IMAGE_TAR    the vkube image the lifecycle and ha parts load into the host (default
//	                   bin/vkube-image.tar, built with make image when missing)
//
// The bench re-executes itself under nice(1) and, when `go run` built it with cgo, rebuilt with
// CGO_ENABLED=0 like vkube (so both sides run the same pure-Go SQLite driver).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"vkube.io/vkube/binaries"
	"vkube.io/vkube/test/dbserver"
)

// The parts of the bench, in the order they run; -only selects some.
var allParts = []string{"start", "write", "restart", "memory", "density", "sync", "scale", "lifecycle", "ha"}

var allBackends = []string{"sqlite", "postgres", "mariadb", "etcd", "etcd-external"}

// pollInterval is how often readiness is polled while a start is timed.
const pollInterval = 50 * time.Millisecond

// env is the bench's configuration and shared state.
type env struct {
	vkubeBin    string
	kubeVersion string
	vkubeArgs   []string // extra `vkube start` arguments for every vkube run (tuning experiments)
	vkubeEnv    []string // extra environment of every vkube run (tuning experiments)
	work        string   // scratch dir of this run
	parts       map[string]bool
	backends    []string
	repeats     int
	kills       int
	creates     int
	densityMax  int
	idle        time.Duration
	settle      time.Duration
	bare        bool
	out         string
	keep        bool
	private     bool

	dbs     *owner // database servers shared by the runs
	pg, my  *dbserver.Server
	results *results
}

func main() {
	e := &env{dbs: &owner{}}
	only := flag.String("only", envOr("BENCH_ONLY", strings.Join(allParts, ",")), "comma-separated parts to run: "+strings.Join(allParts, ",")+" (env BENCH_ONLY)")
	backends := flag.String("backends", envOr("BENCH_BACKENDS", strings.Join(allBackends, ",")), "datastores of the start and write figures (env BENCH_BACKENDS)")
	flag.IntVar(&e.repeats, "repeats", envInt("BENCH_REPEATS", 3), "interleaved repeats of the start and write figures (env BENCH_REPEATS)")
	flag.IntVar(&e.kills, "kills", envInt("BENCH_KILLS", 20), "apiserver kills of the restart figure (env BENCH_KILLS)")
	flag.IntVar(&e.creates, "creates", envInt("BENCH_CREATES", 1000), "ConfigMaps created per write run (env BENCH_CREATES)")
	flag.IntVar(&e.densityMax, "density-max", envInt("BENCH_DENSITY_MAX", 80), "stop the density figure at this many clusters (env BENCH_DENSITY_MAX)")
	flag.DurationVar(&e.idle, "idle", envDuration("BENCH_IDLE", 2*time.Minute), "idle time before memory is measured (env BENCH_IDLE)")
	flag.DurationVar(&e.settle, "settle", envDuration("BENCH_SETTLE", 10*time.Second), "pause between a start and the write run or density check (env BENCH_SETTLE)")
	flag.BoolVar(&e.bare, "bare", envOr("BENCH_BARE", "true") == "true", "also run the bare reference side (env BENCH_BARE=false skips it)")
	flag.StringVar(&e.out, "out", envOr("BENCH_OUT", "bench-results.json"), "raw results file (env BENCH_OUT)")
	flag.BoolVar(&e.private, "private-binaries", envOr("BENCH_PRIVATE_BINARIES", "true") == "true", "run private copies of vkube and the Kubernetes binaries, so that other processes running the same files do not share (and so lower) their PSS (env BENCH_PRIVATE_BINARIES=false runs them in place)")
	flag.BoolVar(&e.keep, "keep", os.Getenv("BENCH_KEEP") == "true", "keep the scratch dir with every log (env BENCH_KEEP=true)")
	report := flag.String("report", "", "print the table of an earlier results file and exit")
	niceness := flag.Int("nice", envInt("BENCH_NICE", 10), "run the bench and everything it starts at this niceness (env BENCH_NICE; 0: as is)")
	flag.Parse()
	if *report != "" {
		r, err := readResults(*report)
		if err != nil {
			fatal(err)
		}
		fmt.Println(r.table())
		return
	}

	var err error
	if e.parts, err = pick(*only, allParts, "-only"); err != nil {
		fatal(err)
	}
	bset, err := pick(*backends, allBackends, "-backends")
	if err != nil {
		fatal(err)
	}
	for _, b := range allBackends {
		if bset[b] {
			e.backends = append(e.backends, b)
		}
	}
	reexec(*niceness)
	e.vkubeBin = os.Getenv("VKUBE_BIN")
	e.kubeVersion = envOr("KUBE_VERSION", "v1.34.2")
	e.vkubeArgs = strings.Fields(os.Getenv("BENCH_VKUBE_ARGS"))
	e.vkubeEnv = strings.Fields(os.Getenv("BENCH_VKUBE_ENV"))
	if os.Getenv("BENCH_ONLY") == "" && !flagSet("only") {
		progress("running every part; select some with -only %s or BENCH_ONLY", strings.Join(allParts, ","))
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	go func() {
		<-ctx.Done()
		progress("interrupted: stopping everything")
		time.Sleep(60 * time.Second) // the parts stop their clusters; this is the backstop
		killAllProcs()
		os.Exit(130)
	}()

	if e.work, err = os.MkdirTemp(shortTemp(), "vkbench-"); err != nil {
		fatal(err)
	}
	e.results = newResults(e)
	code := run(ctx, e)
	e.dbs.run()
	killAllProcs()
	if e.keep || code != 0 {
		if !e.keep {
			_ = os.RemoveAll(filepath.Join(e.work, "bin")) // the binary copies; the logs stay
		}
		progress("scratch dir kept: %s", e.work)
	} else {
		_ = os.RemoveAll(e.work)
	}
	os.Exit(code)
}

// run runs the selected parts and reports; the exit code is 1 when a part failed.
func run(ctx context.Context, e *env) int {
	if e.vkubeBin == "" {
		e.vkubeBin = filepath.Join(e.work, "vkube")
		progress("VKUBE_BIN not set: building %s", e.vkubeBin)
		build := exec.Command("go", "build", "-trimpath", "-o", e.vkubeBin, "vkube.io/vkube/cmd/vkube")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			progress("building vkube (run inside the module or set VKUBE_BIN): %v", err)
			return 2
		}
	}
	kubeDir, err := binaries.Find(e.kubeVersion, "kube-apiserver", "kube-controller-manager")
	if err != nil {
		progress("%v", err)
		return 2
	}
	e.results.Config["vkubeBin"] = e.vkubeBin
	if e.private {
		if err := e.privateBinaries(kubeDir); err != nil {
			progress("copying the binaries: %v", err)
			return 2
		}
	}
	load := startLoadSampler(10 * time.Second)
	raiseInotifyLimits()
	progress("vkube %s, Kubernetes %s, parts %s, scratch %s", e.vkubeBin, e.kubeVersion, strings.Join(selected(e.parts), ","), e.work)

	failed := false
	step := func(name string, f func(context.Context, *env) error) {
		if ctx.Err() != nil {
			return
		}
		began := time.Now()
		if err := f(ctx, e); err != nil {
			failed = true
			e.results.fail(name, err)
			progress("%s FAILED: %v", name, err)
		}
		progress("%s done in %s", name, time.Since(began).Round(time.Second))
	}
	if e.parts["start"] || e.parts["write"] {
		step("start/write", runStartWrite)
	}
	if e.parts["restart"] {
		step("restart", runRestart)
	}
	if e.parts["memory"] {
		step("memory", runMemory)
	}
	if e.parts["density"] {
		step("density", runDensity)
	}
	if e.parts["sync"] {
		step("sync", runSync)
	}
	if e.parts["scale"] {
		step("scale", runScale)
	}
	if e.parts["lifecycle"] {
		step("lifecycle", runLifecycle)
	}
	if e.parts["ha"] {
		step("ha", runHA)
	}
	e.results.Load = load.stop()
	e.results.Finished = time.Now()
	table := e.results.table()
	fmt.Println(table)
	if err := e.results.write(e.out); err != nil {
		progress("writing %s: %v", e.out, err)
		failed = true
	} else {
		progress("raw results in %s", e.out)
	}
	if failed || ctx.Err() != nil {
		return 1
	}
	return 0
}

// reexec runs the bench again under nice(1), if needed, so that it and everything it starts
// yield the CPU to other work on a shared machine.
func reexec(niceness int) {
	if os.Getenv("BENCH_REEXEC") != "" {
		return
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	if niceness == 0 {
		return
	}
	nice, err := exec.LookPath("nice")
	if err != nil {
		progress("nice not found; running at normal priority")
		return
	}
	argv := []string{nice, "-n", strconv.Itoa(niceness)}
	argv = append(append(argv, self), os.Args[1:]...)
	err = syscall.Exec(argv[0], argv, append(os.Environ(), "BENCH_REEXEC=1"))
	progress("re-exec %v: %v", argv, err)
}

// privateBinaries copies vkube and the Kubernetes binaries into the scratch dir and points vkube
// (VKUBE_BINARIES_DIR, inherited by every vkube run) and the bare side at the copies. A file's
// pages are shared by every process that maps it, and PSS divides them among those processes: an
// apiserver of someone else's test would otherwise make ours look smaller.
func (e *env) privateBinaries(kubeDir string) error {
	dir := filepath.Join(e.work, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		src := filepath.Join(kubeDir, name)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := copyFile(src, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	vk := filepath.Join(dir, "vkube")
	if err := copyFile(e.vkubeBin, vk); err != nil {
		return err
	}
	e.vkubeBin = vk
	return os.Setenv(binaries.EnvDir, dir)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// Written back before anything maps it: every run starts from clean page-cache pages.
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// raiseInotifyLimits: every apiserver and controller-manager watches its certificate files; the
// default 128 inotify instances per user run out after a few dozen virtual clusters.
func raiseInotifyLimits() {
	for name, want := range map[string]int{"max_user_instances": 8192, "max_user_watches": 1048576} {
		path := "/proc/sys/fs/inotify/" + name
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		cur, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if cur >= want {
			continue
		}
		if err := os.WriteFile(path, []byte(strconv.Itoa(want)), 0o644); err != nil {
			progress("cannot raise fs.inotify.%s from %d (%v): run sysctl -w fs.inotify.%s=%d as root", name, cur, err, name, want)
			continue
		}
		progress("raised fs.inotify.%s from %d to %d", name, cur, want)
	}
}

func pick(list string, known []string, what string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p == "all" {
			for _, k := range known {
				out[k] = true
			}
			continue
		}
		if !slices.Contains(known, p) {
			return nil, fmt.Errorf("%s: %q is not one of %s", what, p, strings.Join(known, ","))
		}
		out[p] = true
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: nothing selected", what)
	}
	return out, nil
}

func selected(m map[string]bool) []string {
	var out []string
	for _, p := range allParts {
		if m[p] {
			out = append(out, p)
		}
	}
	return out
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// shortTemp keeps unix socket paths (kine.sock deep in a data dir) within 107 bytes.
func shortTemp() string {
	if d := os.TempDir(); len(d) <= 20 {
		return d
	}
	return "/tmp"
}

// sleepCtx sleeps d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fatal(err error) {
	progress("fatal: %v", err)
	killAllProcs()
	os.Exit(2)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

func envDuration(k string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(k)); err == nil {
		return v
	}
	return def
}
