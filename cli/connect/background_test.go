package connect

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestBackgroundPaths(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	logPath, pidPath, err := backgroundPaths("team", "vc")
	if err != nil {
		t.Fatal(err)
	}
	if logPath != filepath.Join(dir, "vkube/connect/team-vc.log") || pidPath != filepath.Join(dir, "vkube/connect/team-vc.pid") {
		t.Fatalf("paths %s %s", logPath, pidPath)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", dir)
	if _, pidPath, _ = backgroundPaths("team", "vc"); pidPath != filepath.Join(dir, ".cache/vkube/connect/team-vc.pid") {
		t.Fatalf("pid path without XDG_CACHE_HOME: %s", pidPath)
	}
}

func TestStopBackground(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	if err := StopBackground("team", "vc"); err != nil {
		t.Fatalf("no proxy: %v", err)
	}
	_, pidPath, _ := backgroundPaths("team", "vc")
	if err := os.MkdirAll(filepath.Dir(pidPath), 0o700); err != nil {
		t.Fatal(err)
	}

	// A pid that is no proxy of this cluster (a recycled pid) is left alone.
	other := exec.Command("sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer other.Process.Kill()
	writePid(t, pidPath, other.Process.Pid)
	if err := StopBackground("team", "vc"); err != nil {
		t.Fatal(err)
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("stopped a process that is no proxy: %v", err)
	}
	if _, err := os.Stat(pidPath); !os.IsNotExist(err) {
		t.Fatal("stale pid file kept")
	}

	// A process that looks like the proxy is stopped.
	// Not a lone command: dash would exec sleep in place of itself, and the arguments with it.
	proxy := exec.Command("sh", "-c", "sleep 30; exit 0", "connect", "vc", "--namespace", "team", "--local-port", "1", "--"+InternalProxyFlag)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = proxy.Wait(); close(exited) }()
	writePid(t, pidPath, proxy.Process.Pid)
	if !isProxy(proxy.Process.Pid, "team", "vc") || isProxy(proxy.Process.Pid, "other", "vc") || isProxy(proxy.Process.Pid, "team", "other") {
		t.Fatal("isProxy does not tell the proxy of team/vc")
	}
	if err := StopBackground("team", "vc"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("proxy not stopped")
	}
	if _, err := os.Stat(pidPath); !os.IsNotExist(err) {
		t.Fatal("pid file kept")
	}
}

func writePid(t *testing.T, path string, pid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}
