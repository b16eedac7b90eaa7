package hostcluster_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"vkube.io/vkube/test/hostcluster"
)

// TestHostCluster brings the host cluster up (or reuses the one `make host-up` left in the same
// dir), checks what the end-to-end suites rely on, then tears it down and checks nothing is
// left. VKUBE_KEEP_HOST=1 keeps the cluster running afterwards.
func TestHostCluster(t *testing.T) {
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
	vethsBefore := veths(t)

	reused := false
	if c, err := hostcluster.Open(dir); err == nil && c.Running() {
		reused = true
	}
	if os.Getenv("VKUBE_KEEP_HOST") != "1" {
		t.Cleanup(func() { teardown(t, dir, vethsBefore) })
	}
	start := time.Now()
	c, err := hostcluster.Up(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bring-up: %.1fs (reused a running cluster: %v)", time.Since(start).Seconds(), reused)

	w := newWorkloads(ctx, t, c)
	t.Run("workloads", func(t *testing.T) {
		t.Run("ClusterIPFromPod", w.clusterIPFromPod)
		t.Run("NonRootWritesPVC", w.nonRootWritesPVC)
		t.Run("LoadBalancerFromHost", w.loadBalancerFromHost)
		t.Run("DNSFromPod", w.dnsFromPod)
	})
	logMemory(t, c.Memory())
}

func teardown(t *testing.T, dir string, vethsBefore []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if t.Failed() {
		keepLogs(t, dir)
	}
	start := time.Now()
	if err := hostcluster.Down(ctx, dir); err != nil {
		t.Fatalf("down: %v", err)
	}
	t.Logf("teardown: %.1fs", time.Since(start).Seconds())
	left, err := hostcluster.Leftovers(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("left behind after down: %s", strings.Join(left, "; "))
	}
	for _, v := range veths(t) {
		if !slices.Contains(vethsBefore, v) {
			t.Errorf("veth %s left behind after down", v)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("state dir %s still exists after down (%v)", dir, err)
	}
}

// keepLogs copies the component logs out of dir before Down removes it.
func keepLogs(t *testing.T, dir string) {
	keep, err := os.MkdirTemp("", "vkube-host-logs-")
	if err != nil {
		t.Logf("keeping logs: %v", err)
		return
	}
	if err := os.CopyFS(keep, os.DirFS(filepath.Join(dir, "logs"))); err != nil {
		t.Logf("keeping logs: %v", err)
		return
	}
	t.Logf("component logs kept in %s", keep)
}

// hostDir is $HOST_DIR or the dir `make host-up` uses, so a cluster it left is reused.
func hostDir(t *testing.T) string {
	dir := os.Getenv("HOST_DIR")
	if dir == "" {
		dir = "../../.vkube/host"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// veths lists the machine's veth interfaces.
func veths(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "-o", "link", "show", "type", "veth").Output()
	if err != nil {
		t.Fatalf("ip link: %v", err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// "7: vethab12cd34@if2: <BROADCAST,…"
		if f := strings.Fields(line); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			names = append(names, name)
		}
	}
	return names
}

func logMemory(t *testing.T, mem map[string]uint64) {
	names := make([]string, 0, len(mem))
	var total uint64
	for n, v := range mem {
		names = append(names, n)
		total += v
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "\n  %-24s %5d MiB", n, mem[n]>>20)
	}
	fmt.Fprintf(&b, "\n  %-24s %5d MiB", "total", total>>20)
	t.Logf("memory (RSS; pods: cgroup usage):%s", b.String())
}

// logWriter sends the cluster's progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
