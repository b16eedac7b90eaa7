package main

import (
	"fmt"
	"slices"
)

// clusterLifecycleResult is the lifecycle part: virtual clusters made, paused and resumed with
// the vkube CLI on the real host, vkube in a pod of its image.
type clusterLifecycleResult struct {
	// Unavailable says why nothing was measured (no host cluster, no image).
	Unavailable string `json:",omitempty"`
	Runs        int
	// CreateSeconds: `vkube create` started → `vkube connect NAME -- kubectl get namespaces`
	// succeeds; CreateReturnedSeconds: → `vkube create --connect=false` returned.
	CreateSeconds         []float64
	CreateReturnedSeconds []float64
	// PauseSeconds: `vkube pause` started → no pod left in the host namespace (control plane and
	// the 2 synced pods of a Deployment).
	PauseSeconds []float64
	// ResumeSeconds: `vkube resume` started → the Deployment's 2 host pods Running again.
	ResumeSeconds []float64
}

// rows renders the lifecycle part (r.mu is held by the caller).
func (x *clusterLifecycleResult) rows() []row {
	create := row{Figure: fmt.Sprintf("`vkube create` → tenant kubectl works (`vkube connect NAME -- kubectl get namespaces`), vkube in a pod on the real host, median of %d (s)", x.Runs),
		Bare: "—", Ratio: "—", Target: "≤ 15 s (Kamaji: 16 s to ready)"}
	pause := row{Figure: fmt.Sprintf("`vkube pause` → every host pod gone (control plane and a synced 2-replica Deployment), median of %d (s)", x.Runs),
		Bare: "—", Ratio: "—", Target: "report"}
	resume := row{Figure: fmt.Sprintf("`vkube resume` → the Deployment's pods Running on the host again, median of %d (s)", x.Runs),
		Bare: "—", Ratio: "—", Target: "report"}
	if x.Unavailable != "" {
		for _, rw := range []*row{&create, &pause, &resume} {
			rw.Vkube = "n/a (" + x.Unavailable + ")"
		}
		return []row{create, pause, resume}
	}
	create.Vkube = spread(x.CreateSeconds, x.Runs)
	if len(x.CreateSeconds) > 0 {
		create.Vkube += fmt.Sprintf("; create returned %.1f", medianOf(x.CreateReturnedSeconds))
		create.Target = verdict(create.Target, medianOf(x.CreateSeconds) <= 15)
	}
	pause.Vkube = spread(x.PauseSeconds, x.Runs)
	resume.Vkube = spread(x.ResumeSeconds, x.Runs)
	return []row{create, pause, resume}
}

// spread is "median (min–max)" of the samples, with how many of runs failed.
func spread(v []float64, runs int) string {
	if len(v) == 0 {
		return "failed"
	}
	s := fmt.Sprintf("%.1f", medianOf(v))
	if len(v) > 1 {
		s += fmt.Sprintf(" (%.1f–%.1f)", slices.Min(v), slices.Max(v))
	}
	if len(v) < runs {
		s += fmt.Sprintf(" (%d of %d failed)", runs-len(v), runs)
	}
	return s
}
