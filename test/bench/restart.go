package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// systemdRestartSec is systemd's default RestartSec: the bare apiserver is restarted the way a
// unit with Restart=always would restart it.
const systemdRestartSec = 100 * time.Millisecond

// runRestart is figure 2: SIGKILL the apiserver child of a vkube on sqlite, and time until both
// the apiserver serves a ConfigMap written before the kill and the supervisor's /readyz is ok for
// the new apiserver. The next kill comes only then. The bare side is the same on a bare cluster
// whose apiserver the bench restarts as systemd would, timed until the ConfigMap is served and
// the apiserver's own /readyz is ok.
func runRestart(ctx context.Context, e *env) error {
	if e.kills < 1 {
		return fmt.Errorf("-kills %d: want at least one", e.kills)
	}
	res, err := vkubeRestarts(ctx, e)
	if err != nil {
		return err
	}
	if e.bare {
		if res.Bare, err = bareRestarts(ctx, e); err != nil {
			return fmt.Errorf("bare: %w", err)
		}
	}
	e.results.mu.Lock()
	e.results.Restart = res
	e.results.mu.Unlock()
	return nil
}

// restartTarget is one side of the restart figure.
type restartTarget struct {
	side string
	cs   kubernetes.Interface
	// kill SIGKILLs the apiserver and returns its pid.
	kill func() (int, error)
	// ready reports the side's own readiness once a new apiserver replaced pid.
	ready func(ctx context.Context, pid int) bool
	// failed is an error once the side cannot recover (its supervisor exited).
	failed func() error
}

func vkubeRestarts(ctx context.Context, e *env) (*restartResult, error) {
	began := time.Now()
	v, err := startVkube(e, "vk-restart", filepath.Join(e.work, "restart"), nil, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := v.stop(); err != nil {
			progress("restart: %v", err)
		}
	}()
	if _, err := v.waitUsable(ctx, began, 3*time.Minute); err != nil {
		return nil, err
	}
	return measureRestarts(ctx, e, v.cfg, restartTarget{
		side: "vkube",
		kill: func() (int, error) {
			pid := childByName(v.proc.pid(), "kube-apiserver")
			if pid == 0 {
				return 0, fmt.Errorf("no kube-apiserver child of vkube %d", v.proc.pid())
			}
			return pid, syscall.Kill(pid, syscall.SIGKILL)
		},
		// The supervisor's /readyz is only trusted once it runs a new apiserver: right after the
		// kill it may not have reaped the old one yet and still report the old state.
		ready: func(ctx context.Context, pid int) bool {
			np := childByName(v.proc.pid(), "kube-apiserver")
			return np != 0 && np != pid && v.readyz(ctx, time.Second) == nil
		},
		failed: func() error {
			if v.proc.exited() {
				return fmt.Errorf("vkube exited; log tail:\n%s", tailFile(v.proc.log, 30))
			}
			return nil
		},
	})
}

func bareRestarts(ctx context.Context, e *env) (*restartResult, error) {
	b, err := prepareBare(ctx, e, "bare-restart", filepath.Join(e.work, "restart-bare"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := b.stop(); err != nil {
			progress("restart: %v", err)
		}
	}()
	if _, err := b.start(ctx, e, datastoreSpec{Kind: "sqlite"}, "", true); err != nil {
		return nil, err
	}
	cfg, err := restConfig(b.admin)
	if err != nil {
		return nil, err
	}
	api, err := newAPIClient(cfg, time.Second)
	if err != nil {
		return nil, err
	}
	// restarted is closed once the unit's restart ran (restartErr says how); b.api is the new
	// process from then on.
	var restarted chan struct{}
	var restartErr error
	return measureRestarts(ctx, e, cfg, restartTarget{
		side: "bare",
		kill: func() (int, error) {
			old := b.api
			if err := syscall.Kill(old.pid(), syscall.SIGKILL); err != nil {
				return 0, err
			}
			done := make(chan struct{})
			restarted = done
			go func() {
				defer close(done)
				<-old.done
				time.Sleep(systemdRestartSec)
				p, err := b.startComponent("kube-apiserver")
				if err != nil {
					restartErr = err
					return
				}
				b.api = p
			}()
			return old.pid(), nil
		},
		ready: func(ctx context.Context, pid int) bool {
			select {
			case <-restarted:
			default:
				return false
			}
			return restartErr == nil && api.get(ctx, "/readyz") == nil
		},
		failed: func() error {
			select {
			case <-restarted:
				return restartErr
			default:
				return nil
			}
		},
	})
}

// measureRestarts kills t's apiserver e.kills times, each time waiting until a ConfigMap written
// before the kill is served again and t is ready.
func measureRestarts(ctx context.Context, e *env, cfg *rest.Config, t restartTarget) (*restartResult, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 2 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, e.settle); err != nil {
		return nil, err
	}
	res := &restartResult{Kills: e.kills}
	for i := range e.kills {
		name := fmt.Sprintf("before-kill-%d", i)
		if err := createConfigMap(ctx, cs, name); err != nil {
			return nil, fmt.Errorf("%s kill %d: create %s: %w", t.side, i, name, err)
		}
		pid, err := t.kill()
		if err != nil {
			return nil, fmt.Errorf("%s kill %d: %w", t.side, i, err)
		}
		killed := time.Now()
		deadline := killed.Add(60 * time.Second)
		var readyAt, getAt time.Duration
		for readyAt == 0 || getAt == 0 {
			if err := t.failed(); err != nil {
				return nil, fmt.Errorf("%s after kill %d: %w", t.side, i, err)
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s apiserver not serving 60s after kill %d", t.side, i)
			}
			if readyAt == 0 && t.ready(ctx, pid) {
				readyAt = time.Since(killed)
			}
			// The new apiserver serves requests a little before its own /readyz is ok.
			if getAt == 0 && getConfigMap(ctx, cs, name) == nil {
				getAt = time.Since(killed)
			}
			if readyAt == 0 || getAt == 0 {
				if err := sleepCtx(ctx, pollInterval); err != nil {
					return nil, err
				}
			}
		}
		took := max(readyAt, getAt)
		res.Seconds = append(res.Seconds, took.Seconds())
		res.ReadyzSeconds = append(res.ReadyzSeconds, readyAt.Seconds())
		res.GetSeconds = append(res.GetSeconds, getAt.Seconds())
		progress("restart %s: kill %d/%d: serving the ConfigMap after %.2fs, /readyz ok after %.2fs", t.side, i+1, e.kills, getAt.Seconds(), readyAt.Seconds())
	}
	sorted := append([]float64(nil), res.Seconds...)
	sort.Float64s(sorted)
	res.MedianSeconds = medianOf(sorted)
	res.MaxSeconds = sorted[len(sorted)-1]
	return res, nil
}
