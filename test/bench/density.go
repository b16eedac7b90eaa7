package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// minMemAvailMiB: the density figure stops starting clusters below this much available memory,
// so that it does not push the machine (shared with other work) into the OOM killer.
const minMemAvailMiB = 2048

// runDensity is figure 5: start idle standalone virtual clusters on sqlite one after another
// (each usable before the next starts), up to -density-max, then check that each answers
// /readyz within 1 s (the supervisor's and the apiserver's own), and sum their PSS.
func runDensity(ctx context.Context, e *env) error {
	res := &densityResult{Max: e.densityMax}
	var clusters []*vkubeCluster
	defer func() { stopAll(clusters) }()
	for i := range e.densityMax {
		if avail := memAvailableMiB(); avail >= 0 && avail < minMemAvailMiB {
			res.StoppedBy = fmt.Sprintf("MemAvailable %d MiB < %d MiB", avail, minMemAvailMiB)
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name := fmt.Sprintf("vk-density-%02d", i)
		began := time.Now()
		v, err := startVkube(e, name, filepath.Join(e.work, "density", name), nil, nil)
		if err != nil {
			res.StoppedBy = err.Error()
			break
		}
		clusters = append(clusters, v)
		took, err := v.waitUsable(ctx, began, 3*time.Minute)
		if err != nil {
			res.StoppedBy = fmt.Sprintf("cluster %d: %v", i+1, firstLine(err.Error()))
			progress("density: %v", err)
			break
		}
		res.StartSeconds = append(res.StartSeconds, took.Seconds())
		progress("density: %d clusters up (this one in %.1fs; MemAvailable %d MiB)", i+1, took.Seconds(), memAvailableMiB())
	}
	res.Started = len(res.StartSeconds)
	progress("density: %d clusters started; settling %s before the check", res.Started, e.settle)
	if err := sleepCtx(ctx, e.settle); err != nil {
		return err
	}
	for _, v := range clusters[:res.Started] {
		health, api := -1.0, -1.0
		t := time.Now()
		if v.readyz(ctx, time.Second) == nil {
			health = float64(time.Since(t).Microseconds()) / 1000
		}
		if c, err := newAPIClient(v.cfg, time.Second); err == nil {
			t = time.Now()
			if c.get(ctx, "/readyz") == nil {
				api = float64(time.Since(t).Microseconds()) / 1000
			}
		}
		res.HealthReadyMs = append(res.HealthReadyMs, health)
		res.APIReadyMs = append(res.APIReadyMs, api)
		if health >= 0 && health < 1000 && api >= 0 && api < 1000 {
			res.Answering++
		} else {
			progress("density: %s does not answer /readyz within 1s (supervisor %.0f ms, apiserver %.0f ms)", v.name, health, api)
		}
		if v, _, err := treePSS(v.proc.pid()); err == nil {
			res.TotalPSSMiB += mib(v.Total)
		}
	}
	if res.Started > 0 {
		res.PerCluster = res.TotalPSSMiB / float64(res.Started)
	}
	res.MemAvailMiB = memAvailableMiB()
	progress("density: %d of %d answer /readyz < 1 s; total PSS %.0f MiB (%.0f per cluster); MemAvailable %d MiB",
		res.Answering, res.Started, res.TotalPSSMiB, res.PerCluster, res.MemAvailMiB)
	e.results.mu.Lock()
	e.results.Density = res
	e.results.mu.Unlock()
	return nil
}

// stopAll stops clusters a few at a time (each stop is an apiserver and a controller-manager
// shutting down: all at once would load a small machine for no gain).
func stopAll(clusters []*vkubeCluster) {
	if len(clusters) == 0 {
		return
	}
	progress("stopping %d clusters", len(clusters))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, v := range clusters {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := v.stop(); err != nil {
				progress("density: %s: %v", v.name, err)
			}
		}()
	}
	wg.Wait()
}
