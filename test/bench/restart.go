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

// runRestart is figure 2: SIGKILL the apiserver child of a vkube on sqlite, and time until both
// the apiserver serves a ConfigMap written before the kill and the supervisor's /readyz is ok for
// the new apiserver. The next kill comes only then.
func runRestart(ctx context.Context, e *env) error {
	if e.kills < 1 {
		return fmt.Errorf("-kills %d: want at least one", e.kills)
	}
	dir := filepath.Join(e.work, "restart")
	began := time.Now()
	v, err := startVkube(e, "vk-restart", dir, nil, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err := v.stop(); err != nil {
			progress("restart: %v", err)
		}
	}()
	if _, err := v.waitUsable(ctx, began, 3*time.Minute); err != nil {
		return err
	}
	cfg := rest.CopyConfig(v.cfg)
	cfg.Timeout = 2 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := sleepCtx(ctx, e.settle); err != nil {
		return err
	}
	res := &restartResult{Kills: e.kills}
	for i := range e.kills {
		name := fmt.Sprintf("before-kill-%d", i)
		if err := createConfigMap(ctx, cs, name); err != nil {
			return fmt.Errorf("kill %d: create %s: %w", i, name, err)
		}
		pid := childByName(v.proc.pid(), "kube-apiserver")
		if pid == 0 {
			return fmt.Errorf("kill %d: no kube-apiserver child of vkube %d", i, v.proc.pid())
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return err
		}
		killed := time.Now()
		deadline := killed.Add(60 * time.Second)
		var readyAt, getAt time.Duration
		for readyAt == 0 || getAt == 0 {
			if v.proc.exited() {
				return fmt.Errorf("vkube exited after kill %d; log tail:\n%s", i, tailFile(v.proc.log, 30))
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("apiserver not serving 60s after kill %d; log tail:\n%s", i, tailFile(v.proc.log, 30))
			}
			// The supervisor's /readyz is only trusted once it runs a new apiserver: right after
			// the kill it may not have reaped the old one yet and still report the old state.
			if readyAt == 0 {
				if np := childByName(v.proc.pid(), "kube-apiserver"); np != 0 && np != pid && v.readyz(ctx, time.Second) == nil {
					readyAt = time.Since(killed)
				}
			}
			// The new apiserver serves requests a little before its own /readyz is ok.
			if getAt == 0 && getConfigMap(ctx, cs, name) == nil {
				getAt = time.Since(killed)
			}
			if readyAt == 0 || getAt == 0 {
				if err := sleepCtx(ctx, pollInterval); err != nil {
					return err
				}
			}
		}
		took := max(readyAt, getAt)
		res.Seconds = append(res.Seconds, took.Seconds())
		res.ReadyzSeconds = append(res.ReadyzSeconds, readyAt.Seconds())
		res.GetSeconds = append(res.GetSeconds, getAt.Seconds())
		progress("restart: kill %d/%d: serving the ConfigMap after %.2fs, supervisor /readyz ok after %.2fs", i+1, e.kills, getAt.Seconds(), readyAt.Seconds())
	}
	sorted := append([]float64(nil), res.Seconds...)
	sort.Float64s(sorted)
	res.MedianSeconds = medianOf(sorted)
	res.MaxSeconds = sorted[len(sorted)-1]
	e.results.mu.Lock()
	e.results.Restart = res
	e.results.mu.Unlock()
	return nil
}
