package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// results is everything measured; written as JSON and rendered as the table.
type results struct {
	mu       sync.Mutex
	Started  time.Time
	Finished time.Time
	Host     map[string]string
	Config   map[string]any
	// Vkube is the version of the binary measured; Load the machine's load during the run.
	Vkube string
	Load  *loadSummary `json:",omitempty"`
	// Creates is the number of ConfigMaps of one write run.
	Creates int
	// Start (figure 1) and Write (figure 4): one sample per backend, side and repeat.
	Start   []sample
	Write   []sample
	Restart *restartResult `json:",omitempty"`
	Memory  *memoryResult  `json:",omitempty"`
	Density *densityResult `json:",omitempty"`
	Sync    *syncResult    `json:",omitempty"`
	Scale   *scaleResult   `json:",omitempty"`
	// Lifecycle: vkube create/pause/resume on the real host; HA: replica kills and hand-over.
	Lifecycle *clusterLifecycleResult `json:",omitempty"`
	HA        *haResult               `json:",omitempty"`
	Errors    []string                `json:",omitempty"`
	Table     []row
}

// sample is one timed run.
type sample struct {
	Backend string
	Side    string // vkube or bare
	Repeat  int
	Seconds float64            `json:",omitempty"`
	Detail  map[string]float64 `json:",omitempty"`
	Error   string             `json:",omitempty"`
}

type restartResult struct {
	Kills         int
	MedianSeconds float64
	MaxSeconds    float64
	// Seconds from each kill until both GetSeconds (the ConfigMap written before the kill is
	// served again) and ReadyzSeconds (the supervisor's /readyz is ok for the new apiserver).
	Seconds       []float64
	GetSeconds    []float64
	ReadyzSeconds []float64
	// Bare is the same figure for a bare apiserver restarted as systemd would.
	Bare *restartResult `json:",omitempty"`
}

type memoryResult struct {
	IdleSeconds float64
	// PSS in MiB: total, its anonymous part, and per process [PSS, anonymous] (vkube,
	// kube-apiserver, kube-controller-manager; datastore on the bare side).
	VkubeMiB     float64
	VkubeAnonMiB float64
	VkubeByProc  map[string][2]float64
	BareMiB      float64               `json:",omitempty"`
	BareAnonMiB  float64               `json:",omitempty"`
	BareByProc   map[string][2]float64 `json:",omitempty"`
}

type densityResult struct {
	Max         int
	Started     int
	Answering   int
	StoppedBy   string `json:",omitempty"`
	TotalPSSMiB float64
	PerCluster  float64
	// StartSeconds of each cluster in start order; ReadyzMs of the final check (-1: failed).
	StartSeconds  []float64
	HealthReadyMs []float64
	APIReadyMs    []float64
	MemAvailMiB   int64
	// Bare is the same figure with bare clusters.
	Bare *densityResult `json:",omitempty"`
}

type row struct {
	Figure string
	Vkube  string
	Bare   string
	Ratio  string
	Target string
}

func newResults(e *env) *results {
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return &results{
		Started: time.Now(),
		Vkube:   binaryVersion(e.vkubeBin),
		Creates: e.creates,
		Host: map[string]string{"hostname": host, "cpus": fmt.Sprint(runtime.NumCPU()), "kernel": strings.TrimSpace(string(kernel)),
			"go": runtime.Version(), "memAvailableMiB": fmt.Sprint(memAvailableMiB())},
		Config: map[string]any{"vkubeBin": e.vkubeBin, "kubeVersion": e.kubeVersion, "vkubeArgs": e.vkubeArgs, "vkubeEnv": e.vkubeEnv,
			"parts": selected(e.parts), "backends": e.backends, "repeats": e.repeats, "kills": e.kills, "creates": e.creates,
			"densityMax": e.densityMax, "idle": e.idle.String(), "settle": e.settle.String(), "bare": e.bare,
			"niceness": niceness(), "privateBinaries": e.private,
			"bareSide": "vkube's rendered command lines, without vkube's Go runtime environment (GOGC, GOMEMLIMIT), on kine's or etcd's own server with default flags"},
	}
}

func (r *results) add(list *[]sample, s sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*list = append(*list, s)
}

func (r *results) fail(part string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Errors = append(r.Errors, part+": "+err.Error())
}

// readResults loads a results file, to print its table again (-report).
func readResults(path string) (*results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &results{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if n, ok := r.Config["creates"].(float64); ok && r.Creates == 0 {
		r.Creates = int(n)
	}
	return r, nil
}

func (r *results) write(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// median of the successful samples of one backend and side (0, n=0 when none).
func median(samples []sample, backend, side string) (float64, int, int) {
	var v []float64
	failed := 0
	for _, s := range samples {
		if s.Backend != backend || s.Side != side {
			continue
		}
		if s.Error != "" {
			failed++
			continue
		}
		v = append(v, s.Seconds)
	}
	return medianOf(v), len(v), failed
}

// pairedRatios are vkube's sample over bare's of each repeat in which both sides have one.
func pairedRatios(samples []sample, backend string) []float64 {
	bare := map[int]float64{}
	for _, s := range samples {
		if s.Backend == backend && s.Side == "bare" && s.Error == "" && s.Seconds > 0 {
			bare[s.Repeat] = s.Seconds
		}
	}
	var out []float64
	for _, s := range samples {
		if b, ok := bare[s.Repeat]; ok && s.Backend == backend && s.Side == "vkube" && s.Error == "" {
			out = append(out, s.Seconds/b)
		}
	}
	return out
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// table renders the rows of every figure that ran.
func (r *results) table() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Table = nil
	ratioRows := func(samples []sample, label string, unit string, limit, noise float64, paired bool) {
		for _, b := range allBackends {
			vk, nv, fv := median(samples, b, "vkube")
			ba, nb, fb := median(samples, b, "bare")
			if nv == 0 && fv == 0 {
				continue
			}
			rw := row{Figure: fmt.Sprintf("%s, %s (%s, median of %d)", label, b, unit, max(nv, nb)), Vkube: cell(vk, nv, fv, "%.2f"), Bare: cell(ba, nb, fb, "%.2f"), Ratio: "—"}
			target := fmt.Sprintf("≤ %g× bare", limit)
			if noise > 0 {
				target += fmt.Sprintf(" (noise ±%.0f%%)", noise*100)
			}
			if nv > 0 && nb > 0 && ba > 0 {
				ratio := vk / ba
				if paired {
					rw.Figure += ", ratio: median of the repeats' own ratios"
					ratio = medianOf(pairedRatios(samples, b))
				}
				rw.Ratio = fmt.Sprintf("%.2f×", ratio)
				rw.Target = verdict(target, ratio <= limit)
				if ratio > limit && ratio <= limit*(1+noise) {
					rw.Target += " (within noise)"
				}
			} else {
				rw.Target = target
			}
			r.Table = append(r.Table, rw)
		}
	}
	if len(r.Start) > 0 {
		ratioRows(r.Start, "start → /readyz + admin GET /api", "s", 1.25, 0, false)
	}
	if x := r.Restart; x != nil {
		for _, f := range []struct {
			what string
			of   func(*restartResult) float64
		}{{"median", func(r *restartResult) float64 { return r.MedianSeconds }}, {"max", func(r *restartResult) float64 { return r.MaxSeconds }}} {
			rw := row{Figure: fmt.Sprintf("apiserver SIGKILL → serving + /readyz ok (vkube: its supervisor's; bare: restarted as systemd would), %s of %d kills (s)", f.what, x.Kills),
				Vkube: fmt.Sprintf("%.2f", f.of(x)), Bare: "—", Ratio: "—", Target: verdict("≤ 5 s", f.of(x) <= 5)}
			if x.Bare != nil && f.of(x.Bare) > 0 {
				rw.Bare = fmt.Sprintf("%.2f", f.of(x.Bare))
				rw.Ratio = fmt.Sprintf("%.2f×", f.of(x)/f.of(x.Bare))
			}
			r.Table = append(r.Table, rw)
		}
	}
	if x := r.Memory; x != nil {
		rw := row{Figure: fmt.Sprintf("idle PSS after %.0f s, whole cluster on sqlite (MiB)", x.IdleSeconds), Vkube: fmt.Sprintf("%.0f", x.VkubeMiB), Bare: "—", Ratio: "—", Target: verdict("≤ 300 MiB", x.VkubeMiB <= 300)}
		if x.BareMiB > 0 {
			rw.Bare = fmt.Sprintf("%.0f", x.BareMiB)
			rw.Ratio = fmt.Sprintf("%.2f×", x.VkubeMiB/x.BareMiB)
		}
		r.Table = append(r.Table, rw)
	}
	if len(r.Write) > 0 {
		ratioRows(r.Write, fmt.Sprintf("%d ConfigMap creates + LIST", r.Creates), "s", 1.1, 0.15, true)
	}
	if x := r.Density; x != nil {
		answering := row{Figure: fmt.Sprintf("idle sqlite clusters answering /readyz < 1 s (stopped at %d)", x.Max), Vkube: fmt.Sprint(x.Answering), Bare: "—", Ratio: "—", Target: verdict("≥ 80", x.Answering >= 80)}
		memory := row{Figure: "PSS per idle cluster (MiB; total of all started)", Vkube: fmt.Sprintf("%.0f; %.0f of %d", x.PerCluster, x.TotalPSSMiB, x.Started), Bare: "—", Ratio: "—", Target: "report"}
		if b := x.Bare; b != nil {
			answering.Bare = fmt.Sprint(b.Answering)
			memory.Bare = fmt.Sprintf("%.0f; %.0f of %d", b.PerCluster, b.TotalPSSMiB, b.Started)
			if b.Answering > 0 {
				answering.Ratio = fmt.Sprintf("%.2f×", float64(x.Answering)/float64(b.Answering))
			}
			if b.PerCluster > 0 {
				memory.Ratio = fmt.Sprintf("%.2f×", x.PerCluster/b.PerCluster)
			}
		}
		r.Table = append(r.Table, answering, memory)
	}
	if x := r.Sync; x != nil {
		r.Table = append(r.Table, x.rows()...)
	}
	if x := r.Scale; x != nil {
		r.Table = append(r.Table, x.rows()...)
	}
	if x := r.Lifecycle; x != nil {
		r.Table = append(r.Table, x.rows()...)
	}
	if x := r.HA; x != nil {
		r.Table = append(r.Table, x.rows()...)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "vkube %s, %s CPUs", r.Vkube, r.Host["cpus"])
	if l := r.Load; l != nil {
		fmt.Fprintf(&sb, "; 1-minute load average before %.2f, during the run mean %.2f, max %.2f", l.Before, l.Mean, l.Max)
	}
	sb.WriteString("\n\n| figure | vkube | bare | ratio | target |\n|---|---|---|---|---|\n")
	for _, rw := range r.Table {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s |\n", rw.Figure, rw.Vkube, rw.Bare, rw.Ratio, rw.Target)
	}
	for _, err := range r.Errors {
		fmt.Fprintf(&sb, "\nerror: %s", firstLine(err))
	}
	return strings.TrimRight(sb.String(), "\n")
}

func cell(v float64, n, failed int, format string) string {
	switch {
	case n == 0 && failed > 0:
		return "failed"
	case n == 0:
		return "—"
	case failed > 0:
		return fmt.Sprintf(format+" (%d failed)", v, failed)
	default:
		return fmt.Sprintf(format, v)
	}
}

func verdict(target string, met bool) string {
	if met {
		return target + ": met"
	}
	return target + ": **missed**"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func mib(kib int64) float64 { return float64(kib) / 1024 }

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// niceness of this process (from /proc/self/stat).
func niceness() int {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b)[i+1:])
	if len(f) < 17 {
		return 0
	}
	n, _ := strconv.Atoi(f[16])
	return n
}
