package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// minMemAvailMiB: the density figure stops starting clusters below this much available memory,
// so that it does not push the machine (shared with other work) into the OOM killer.
const minMemAvailMiB = 2048

// densityCluster is one idle cluster of the density figure, of either side.
type densityCluster interface {
	// readyzMs is how long the side's own /readyz beside the apiserver's took (-1: failed);
	// vkube's is its supervisor's, bare has none (0).
	readyzMs(ctx context.Context) float64
	config() *rest.Config
	pids() []int
	stop() error
}

// runDensity is figure 5: start idle standalone virtual clusters on sqlite one after another
// (each usable before the next starts), up to -density-max, then check that each answers
// /readyz within 1 s (the supervisor's and the apiserver's own), and sum their PSS. The bare side
// does the same with bare clusters (kine, kube-apiserver, kube-controller-manager), after vkube's
// have stopped.
func runDensity(ctx context.Context, e *env) error {
	res, err := density(ctx, e, "vkube", func(i int) (densityCluster, time.Duration, error) {
		name := fmt.Sprintf("vk-density-%02d", i)
		began := time.Now()
		v, err := startVkube(e, name, filepath.Join(e.work, "density", name), nil, nil)
		if err != nil {
			return nil, 0, err
		}
		took, err := v.waitUsable(ctx, began, 3*time.Minute)
		return vkubeDensity{v}, took, err
	})
	if err != nil {
		return err
	}
	if e.bare {
		if res.Bare, err = density(ctx, e, "bare", func(i int) (densityCluster, time.Duration, error) {
			name := fmt.Sprintf("bare-density-%02d", i)
			b, err := prepareBare(ctx, e, name, filepath.Join(e.work, "density", name))
			if err != nil {
				return nil, 0, err
			}
			took, err := b.start(ctx, e, datastoreSpec{Kind: "sqlite"}, "", true)
			return bareDensity{b}, took, err
		}); err != nil {
			return fmt.Errorf("bare: %w", err)
		}
	}
	e.results.mu.Lock()
	e.results.Density = res
	e.results.mu.Unlock()
	return nil
}

func density(ctx context.Context, e *env, side string, start func(i int) (densityCluster, time.Duration, error)) (*densityResult, error) {
	res := &densityResult{Max: e.densityMax}
	var clusters []densityCluster
	defer func() { stopAll(clusters) }()
	for i := range e.densityMax {
		if avail := memAvailableMiB(); avail >= 0 && avail < minMemAvailMiB {
			res.StoppedBy = fmt.Sprintf("MemAvailable %d MiB < %d MiB", avail, minMemAvailMiB)
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c, took, err := start(i)
		if c != nil {
			clusters = append(clusters, c)
		}
		if err != nil {
			res.StoppedBy = fmt.Sprintf("cluster %d: %v", i+1, firstLine(err.Error()))
			progress("density %s: %v", side, err)
			break
		}
		res.StartSeconds = append(res.StartSeconds, took.Seconds())
		progress("density %s: %d clusters up (this one in %.1fs; MemAvailable %d MiB)", side, i+1, took.Seconds(), memAvailableMiB())
	}
	res.Started = len(res.StartSeconds)
	progress("density %s: %d clusters started; settling %s before the check", side, res.Started, e.settle)
	if err := sleepCtx(ctx, e.settle); err != nil {
		return nil, err
	}
	for _, c := range clusters[:res.Started] {
		health, api := c.readyzMs(ctx), -1.0
		if cl, err := newAPIClient(c.config(), time.Second); err == nil {
			t := time.Now()
			if cl.get(ctx, "/readyz") == nil {
				api = float64(time.Since(t).Microseconds()) / 1000
			}
		}
		res.HealthReadyMs = append(res.HealthReadyMs, health)
		res.APIReadyMs = append(res.APIReadyMs, api)
		if health >= 0 && health < 1000 && api >= 0 && api < 1000 {
			res.Answering++
		} else {
			progress("density %s: a cluster does not answer /readyz within 1s (own %.0f ms, apiserver %.0f ms)", side, health, api)
		}
		for _, pid := range c.pids() {
			if v, _, err := treePSS(pid); err == nil {
				res.TotalPSSMiB += mib(v.Total)
			}
		}
	}
	if res.Started > 0 {
		res.PerCluster = res.TotalPSSMiB / float64(res.Started)
	}
	res.MemAvailMiB = memAvailableMiB()
	progress("density %s: %d of %d answer /readyz < 1 s; total PSS %.0f MiB (%.0f per cluster); MemAvailable %d MiB",
		side, res.Answering, res.Started, res.TotalPSSMiB, res.PerCluster, res.MemAvailMiB)
	return res, nil
}

type vkubeDensity struct{ v *vkubeCluster }

func (d vkubeDensity) readyzMs(ctx context.Context) float64 {
	t := time.Now()
	if d.v.readyz(ctx, time.Second) != nil {
		return -1
	}
	return float64(time.Since(t).Microseconds()) / 1000
}
func (d vkubeDensity) config() *rest.Config { return d.v.cfg }
func (d vkubeDensity) pids() []int          { return []int{d.v.proc.pid()} }
func (d vkubeDensity) stop() error          { return d.v.stop() }

type bareDensity struct{ b *bareCluster }

func (d bareDensity) readyzMs(context.Context) float64 { return 0 }
func (d bareDensity) config() *rest.Config {
	cfg, err := restConfig(d.b.admin)
	if err != nil {
		return &rest.Config{Host: "https://invalid"}
	}
	return cfg
}

func (d bareDensity) pids() []int {
	var out []int
	for _, pid := range d.b.pids() {
		out = append(out, pid)
	}
	return out
}
func (d bareDensity) stop() error { return d.b.stop() }

// stopAll stops clusters a few at a time (each stop is an apiserver and a controller-manager
// shutting down: all at once would load a small machine for no gain).
func stopAll(clusters []densityCluster) {
	if len(clusters) == 0 {
		return
	}
	progress("stopping %d clusters", len(clusters))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, c := range clusters {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := c.stop(); err != nil {
				progress("density: %v", err)
			}
		}()
	}
	wg.Wait()
}
