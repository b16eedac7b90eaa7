// Package process supervises the child processes of a virtual control plane: it restarts a
// crashed child with backoff, prefixes its output with its name, and stops it gracefully.
package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Spec describes one supervised child.
type Spec struct {
	// Name is the component name used in log prefixes and metrics (kube-apiserver, k3s, …).
	Name string
	Path string
	Args []string
	// Env is the child's own environment, added to the few variables it inherits from the
	// supervisor (ChildEnv: PATH, HOME, locale, Go runtime knobs, …; never vkube's own).
	Env []string
	Dir string
	// Output receives the child's stdout and stderr, each line prefixed with Name.
	Output io.Writer
	// Healthy reports whether the running child serves; the child is Ready once it first succeeds.
	Healthy func(ctx context.Context) error
	// StopTimeout is the grace period between SIGTERM and SIGKILL (default 10 s).
	StopTimeout time.Duration
	// Backoff between restarts; reset once the child has run for ResetAfter (default 30 s).
	Backoff    wait.Backoff
	ResetAfter time.Duration
	Logger     *slog.Logger
}

// Child is a running, supervised process. Its shape follows etcd's embed: Ready, Err, Stop.
type Child struct {
	spec   Spec
	cancel context.CancelFunc
	done   chan struct{}
	ready  chan struct{}
	errc   chan error

	mu       sync.Mutex
	pid      int
	restarts int
	healthy  bool
	// servedThisRun: the current incarnation reached healthy, so its death is not a crash loop.
	servedThisRun bool
}

// DefaultBackoff restarts fast first (an apiserver must be back within seconds) and caps at 10 s.
func DefaultBackoff() wait.Backoff {
	return wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 8, Cap: 10 * time.Second}
}

// Start launches the child and supervises it until ctx ends or Stop is called. It fails at once
// only when the binary cannot be executed at all.
func Start(ctx context.Context, spec Spec) (*Child, error) {
	if _, err := os.Stat(spec.Path); err != nil {
		return nil, fmt.Errorf("%s: binary %s: %w", spec.Name, spec.Path, err)
	}
	if spec.StopTimeout == 0 {
		spec.StopTimeout = 10 * time.Second
	}
	if spec.Backoff.Duration == 0 {
		spec.Backoff = DefaultBackoff()
	}
	if spec.ResetAfter == 0 {
		spec.ResetAfter = 30 * time.Second
	}
	if spec.Logger == nil {
		spec.Logger = slog.Default()
	}
	if spec.Output == nil {
		spec.Output = os.Stderr
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Child{spec: spec, cancel: cancel, done: make(chan struct{}), ready: make(chan struct{}), errc: make(chan error, 1)}
	go c.supervise(ctx)
	if spec.Healthy != nil {
		go c.probe(ctx)
	} else {
		close(c.ready)
	}
	return c, nil
}

// Ready is closed once the child first reports healthy.
func (c *Child) Ready() <-chan struct{} { return c.ready }

// Err delivers a permanent failure; a crash that is restarted is not one.
func (c *Child) Err() <-chan error { return c.errc }

// Healthy is the result of the latest health probe.
func (c *Child) Healthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.healthy
}

// Probed says whether the child has a health probe; Healthy is false for one that has none.
func (c *Child) Probed() bool { return c.spec.Healthy != nil }

// PID is the process id of the current incarnation (0 between restarts).
func (c *Child) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid
}

// Restarts counts how many times the child was started again after exiting.
func (c *Child) Restarts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restarts
}

// Name is the component name.
func (c *Child) Name() string { return c.spec.Name }

// Restart ends the current incarnation gracefully; the supervision loop starts a new one at once.
// Used when a child's credentials change and it cannot reload them by itself.
func (c *Child) Restart() {
	c.mu.Lock()
	pid := c.pid
	c.servedThisRun = true
	c.mu.Unlock()
	if pid != 0 {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
	}
}

// Stop sends SIGTERM, waits for the grace period (or ctx), then kills the child.
func (c *Child) Stop(ctx context.Context) error {
	c.cancel()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping %s: %w", c.spec.Name, ctx.Err())
	}
}

func (c *Child) supervise(ctx context.Context) {
	defer close(c.done)
	backoff := c.spec.Backoff
	log := c.spec.Logger.With("component", c.spec.Name)
	for {
		started := time.Now()
		err := c.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		ran := time.Since(started)
		c.mu.Lock()
		served := c.servedThisRun
		c.servedThisRun = false
		c.mu.Unlock()
		// A child that served before it died restarts at once; only one that dies before it
		// ever serves backs off further each time.
		if served || ran >= c.spec.ResetAfter {
			backoff = c.spec.Backoff
		}
		delay := backoff.Step()
		c.mu.Lock()
		c.restarts++
		c.mu.Unlock()
		childRestarts.WithLabelValues(c.spec.Name).Inc()
		log.Warn("child exited; restarting", "error", err, "ran", ran.Round(time.Millisecond), "restartIn", delay.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (c *Child) runOnce(ctx context.Context) error {
	cmd := exec.Command(c.spec.Path, c.spec.Args...)
	cmd.Env = ChildEnv(os.Environ(), c.spec.Env)
	cmd.Dir = c.spec.Dir
	out := newPrefixWriter(c.spec.Output, c.spec.Name)
	defer out.Flush()
	cmd.Stdout, cmd.Stderr = out, out
	// Pdeathsig: a killed supervisor must not leave children holding ports and sockets.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", c.spec.Name, err)
	}
	c.setPID(cmd.Process.Pid)
	childUp.WithLabelValues(c.spec.Name).Set(1)
	defer func() {
		c.setPID(0)
		childUp.WithLabelValues(c.spec.Name).Set(0)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		return describeExit(err)
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(c.spec.StopTimeout):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		return ctx.Err()
	}
}

func (c *Child) setPID(pid int) {
	c.mu.Lock()
	c.pid = pid
	if pid == 0 {
		c.healthy = false
	}
	c.mu.Unlock()
}

func describeExit(err error) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("killed by signal %s", ws.Signal())
		}
		return fmt.Errorf("exit status %d", exit.ExitCode())
	}
	if err == nil {
		return errors.New("exited with status 0")
	}
	return err
}
