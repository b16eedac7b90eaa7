package process

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKilledChildRestartsAndIsPrefixed(t *testing.T) {
	out := &lockedBuffer{}
	c, err := Start(context.Background(), Spec{Name: "sleeper", Path: "/bin/sh", Args: []string{"-c", "echo started; exec sleep 60"}, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	waitFor(t, "first start", func() bool { return c.PID() != 0 })
	first := c.PID()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "restart", func() bool { return c.PID() != 0 && c.PID() != first })
	if c.Restarts() != 1 {
		t.Errorf("restarts = %d, want 1", c.Restarts())
	}
	waitFor(t, "two prefixed lines", func() bool { return strings.Count(out.String(), "[sleeper] started\n") == 2 })
}

func TestHealthyChildRestartsWithoutBackoff(t *testing.T) {
	c, err := Start(context.Background(), Spec{Name: "served", Path: "/bin/sh", Args: []string{"-c", "exec sleep 60"}, Output: &lockedBuffer{},
		Healthy: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	<-c.Ready()
	for i := 0; i < 6; i++ {
		waitFor(t, "healthy", c.Healthy)
		pid := c.PID()
		start := time.Now()
		_ = syscall.Kill(pid, syscall.SIGKILL)
		waitFor(t, "restart", func() bool { return c.PID() != 0 && c.PID() != pid })
		// Backoff would reach 3.2 s by the sixth kill; a child that served restarts at once.
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("kill %d: restart took %s", i, d)
		}
	}
}

func TestCrashLoopBacksOff(t *testing.T) {
	c, err := Start(context.Background(), Spec{Name: "crasher", Path: "/bin/false", Output: &lockedBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	_ = c.Stop(context.Background())
	// 100ms, 200ms, 400ms, 800ms… : at most ~5 starts in 1.5 s, not hundreds.
	if r := c.Restarts(); r < 2 || r > 6 {
		t.Errorf("restarts in 1.5 s = %d, want a handful", r)
	}
}

func TestStopIsGracefulThenKills(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "term")
	c, err := Start(context.Background(), Spec{Name: "stubborn", Path: "/bin/sh", Output: &lockedBuffer{}, StopTimeout: 300 * time.Millisecond,
		Args: []string{"-c", "trap 'touch " + marker + "' TERM; while true; do sleep 0.05; done"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "start", func() bool { return c.PID() != 0 })
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("child did not get SIGTERM first")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stop took %s", d)
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := Start(context.Background(), Spec{Name: "ghost", Path: "/nonexistent/kube-apiserver"})
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("err = %v", err)
	}
}
