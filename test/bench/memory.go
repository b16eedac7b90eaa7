package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"vkube.io/vkube/backend"
)

// runMemory is figure 3: the PSS of a whole idle virtual cluster on sqlite (vkube and every
// descendant), against the bare apiserver, controller-manager and kine processes.
func runMemory(ctx context.Context, e *env) error {
	res := &memoryResult{IdleSeconds: e.idle.Seconds()}
	total, by, err := e.vkubeIdlePSS(ctx)
	if err != nil {
		return err
	}
	res.VkubeMiB, res.VkubeAnonMiB, res.VkubeByProc = mib(total.Total), mib(total.Anon), toMiB(by)
	progress("memory: vkube idle PSS %.0f MiB, %.0f of it anonymous; per process PSS/anon %s", res.VkubeMiB, res.VkubeAnonMiB, fmtMiB(by))
	if e.bare {
		total, by, err := e.bareIdlePSS(ctx)
		if err != nil {
			return err
		}
		res.BareMiB, res.BareAnonMiB, res.BareByProc = mib(total.Total), mib(total.Anon), toMiB(by)
		progress("memory: bare idle PSS %.0f MiB, %.0f of it anonymous; per process PSS/anon %s", res.BareMiB, res.BareAnonMiB, fmtMiB(by))
	}
	e.results.mu.Lock()
	e.results.Memory = res
	e.results.mu.Unlock()
	return nil
}

func (e *env) vkubeIdlePSS(ctx context.Context) (pss, map[string]pss, error) {
	began := time.Now()
	v, err := startVkube(e, "vk-memory", filepath.Join(e.work, "memory", "vkube"), nil, nil)
	if err != nil {
		return pss{}, nil, err
	}
	defer func() {
		if err := v.stop(); err != nil {
			progress("memory: %v", err)
		}
	}()
	if _, err := v.waitUsable(ctx, began, 3*time.Minute); err != nil {
		return pss{}, nil, err
	}
	progress("memory: vkube usable; idling %s", e.idle)
	if err := sleepCtx(ctx, e.idle); err != nil {
		return pss{}, nil, err
	}
	if n := len(descendants(v.proc.pid())); n < 2 {
		return pss{}, nil, fmt.Errorf("vkube has %d children, want apiserver and controller-manager", n)
	}
	return treePSS(v.proc.pid())
}

func (e *env) bareIdlePSS(ctx context.Context) (pss, map[string]pss, error) {
	b, err := prepareBare(ctx, e, "bare-memory", filepath.Join(e.work, "memory", "bare"))
	if err != nil {
		return pss{}, nil, err
	}
	defer func() {
		if err := b.stop(); err != nil {
			progress("memory: %v", err)
		}
	}()
	if _, err := b.start(ctx, e, datastoreSpec{Kind: backend.SQLite}, "", true); err != nil {
		return pss{}, nil, err
	}
	progress("memory: bare usable; idling %s", e.idle)
	if err := sleepCtx(ctx, e.idle); err != nil {
		return pss{}, nil, err
	}
	var total pss
	by := map[string]pss{}
	for name, pid := range b.pids() {
		v, sub, err := treePSS(pid)
		if err != nil {
			return pss{}, nil, fmt.Errorf("%s: %w", name, err)
		}
		total.Total += v.Total
		total.Anon += v.Anon
		if len(sub) > 1 {
			name += "+children"
		}
		by[name] = v
	}
	if len(by) != 3 {
		return pss{}, nil, fmt.Errorf("bare processes running after idling: %v, want datastore, apiserver, controller-manager", b.pids())
	}
	return total, by, nil
}

// toMiB is per-process PSS and its anonymous part in MiB, one decimal.
func toMiB(m map[string]pss) map[string][2]float64 {
	out := map[string][2]float64{}
	round := func(kib int64) float64 { return float64(int64(mib(kib)*10)) / 10 }
	for k, v := range m {
		out[k] = [2]float64{round(v.Total), round(v.Anon)}
	}
	return out
}

func fmtMiB(m map[string]pss) string {
	s := "("
	for _, k := range sortedKeys(m) {
		if len(s) > 1 {
			s += ", "
		}
		s += fmt.Sprintf("%s %.0f/%.0f", k, mib(m[k].Total), mib(m[k].Anon))
	}
	return s + ")"
}
