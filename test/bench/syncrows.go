package main

import (
	"fmt"
	"sort"
	"strings"
)

// syncResult is figure 6: pods between a virtual cluster of a local vkube and the host cluster.
type syncResult struct {
	// Unavailable says why nothing was measured (no host cluster); KwokUnavailable why the kwok
	// node's figures were not (the real kubelet's still are).
	Unavailable     string `json:",omitempty"`
	KwokUnavailable string `json:",omitempty"`
	// HostNodeIP and Kwok describe the setup.
	HostNodeIP string `json:",omitempty"`
	Kwok       string `json:",omitempty"`
	// Burst: virtual pods created at once onto the kwok node; BareBurst: the same pods created
	// on the host directly. Each is the one of Bursts (BareBursts) with the median p50.
	Burst, BareBurst   *batchResult   `json:",omitempty"`
	Bursts, BareBursts []*batchResult `json:",omitempty"`
	// Rate: many more pods the same way, for the sustained creation rate.
	Rate, BareRate *batchResult `json:",omitempty"`
	// Running: host pod Running → virtual pod Running, on the real kubelet.
	Running *latencies `json:",omitempty"`
	// Lifecycle: host API requests of virtual pods from create to gone.
	Lifecycle *lifecycleResult `json:",omitempty"`
	// DNS: questions per second to vkube's DNS and to the host's CoreDNS.
	DNS *dnsResult `json:",omitempty"`
}

// batchResult is one batch of pods created from several goroutines.
type batchResult struct {
	Pods    int
	Workers int
	// Latency per pod: its create call returned (virtual, or host for the bare side) → the host
	// pod seen by a host watch.
	Latency latencies
	// VirtualWatch (vkube only): create returned → the pod seen by a watch on the virtual cluster.
	VirtualWatch *latencies `json:",omitempty"`
	// CreateSeconds: first create sent → last create returned; SeenSeconds: first create sent →
	// last host pod seen.
	CreateSeconds float64
	SeenSeconds   float64
	// PodsPerSecond is Pods / SeenSeconds.
	PodsPerSecond float64
}

type lifecycleResult struct {
	Pods int
	// Requests vkube sent the host from the first create to the last pod gone, by kind.
	Requests int
	ByKind   map[string]int
	PerPod   float64
	Seconds  float64
	// IdleRequests in IdleSeconds just before, with nothing to sync.
	IdleRequests int            `json:",omitempty"`
	IdleByKind   map[string]int `json:",omitempty"`
	IdleSeconds  float64
	Method       string
}

// rows renders figure 6 (r.mu is held by the caller).
func (x *syncResult) rows() []row {
	kwokWhy := x.Unavailable
	if kwokWhy == "" {
		kwokWhy = x.KwokUnavailable
	}
	na := func(why string) string { return "n/a (" + why + ")" }
	var out []row
	// Burst latency.
	for _, p := range []struct {
		name   string
		limit  float64
		target string
	}{{"p50", 100, "≤ 100 ms"}, {"p99", 500, "≤ 500 ms"}} {
		rw := row{Figure: "virtual pod created → host pod created, burst of 100 on the kwok node, " + p.name + " (ms)", Vkube: "failed", Bare: "—", Ratio: "—", Target: p.target}
		switch {
		case kwokWhy != "":
			rw.Vkube = na(kwokWhy)
		case x.Burst != nil:
			rw.Figure = fmt.Sprintf("virtual pod created → host pod created, burst of %d on the kwok node, %s (ms; the median of %d bursts by p50)", x.Burst.Pods, p.name, len(x.Bursts))
			v := x.Burst.Latency.P50Ms
			if p.name == "p99" {
				v = x.Burst.Latency.P99Ms
			}
			rw.Vkube = fmt.Sprintf("%.0f", v)
			rw.Target = verdict(p.target, v <= p.limit)
		}
		out = append(out, rw)
	}
	// The burst as a whole, against the host alone.
	rw := row{Figure: "burst of 100 on the kwok node, first create sent → last host pod seen (s)", Vkube: "failed", Bare: "—", Ratio: "—", Target: "—"}
	switch {
	case kwokWhy != "":
		rw.Vkube = na(kwokWhy)
	case x.Burst != nil:
		rw.Figure = fmt.Sprintf("burst of %d on the kwok node, first create sent → last host pod seen (s)", x.Burst.Pods)
		rw.Vkube = fmt.Sprintf("%.2f", x.Burst.SeenSeconds)
		if x.BareBurst != nil {
			rw.Bare = fmt.Sprintf("%.2f", x.BareBurst.SeenSeconds)
			rw.Ratio = fmt.Sprintf("%.1f×", x.Burst.SeenSeconds/x.BareBurst.SeenSeconds)
		}
	}
	out = append(out, rw)
	// Status back from the real kubelet.
	rw = row{Figure: "host pod Running → virtual pod Running, real kubelet, p99 (ms)", Vkube: "failed", Bare: "—", Ratio: "—", Target: "≤ 1 s"}
	switch {
	case x.Unavailable != "":
		rw.Vkube = na(x.Unavailable)
	case x.Running != nil:
		rw.Figure = fmt.Sprintf("host pod Running → virtual pod Running, %d pods on the real kubelet, p99 (ms)", x.Running.N)
		rw.Vkube = fmt.Sprintf("%.0f (p50 %.0f)", x.Running.P99Ms, x.Running.P50Ms)
		rw.Target = verdict("≤ 1 s", x.Running.P99Ms <= 1000)
	}
	out = append(out, rw)
	// Sustained creation rate.
	rw = row{Figure: "sustained virtual → host pod creation on the kwok node (pods/s)", Vkube: "failed", Bare: "—", Ratio: "—", Target: "≥ 100 pods/s"}
	switch {
	case kwokWhy != "":
		rw.Vkube = na(kwokWhy)
	case x.Rate != nil:
		rw.Figure = fmt.Sprintf("sustained virtual → host pod creation, %d pods from %d clients on the kwok node, first create → last host pod (pods/s)", x.Rate.Pods, x.Rate.Workers)
		rw.Vkube = fmt.Sprintf("%.0f", x.Rate.PodsPerSecond)
		rw.Target = verdict("≥ 100 pods/s", x.Rate.PodsPerSecond >= 100)
		if x.BareRate != nil {
			rw.Bare = fmt.Sprintf("%.0f", x.BareRate.PodsPerSecond)
			rw.Ratio = fmt.Sprintf("%.2f×", x.Rate.PodsPerSecond/x.BareRate.PodsPerSecond)
		}
	}
	out = append(out, rw)
	// Host API requests.
	rw = row{Figure: "host API requests per virtual pod lifecycle (create → Running → delete), kwok node", Vkube: "failed", Bare: "—", Ratio: "—", Target: "report; ≤ 6"}
	switch {
	case kwokWhy != "":
		rw.Vkube = na(kwokWhy)
	case x.Lifecycle != nil:
		rw.Figure = fmt.Sprintf("host API requests per virtual pod lifecycle (create → Running → delete), %d pods on the kwok node, counted by a proxy in front of the host API", x.Lifecycle.Pods)
		rw.Vkube = fmt.Sprintf("%.2f (%s)", x.Lifecycle.PerPod, perPodKinds(x.Lifecycle.ByKind, x.Lifecycle.Pods))
		rw.Target = verdict("report; ≤ 6", x.Lifecycle.PerPod <= 6)
	}
	return append(append(out, rw), x.dnsRows()...)
}

// perPodKinds is "create pods 1, create secrets 1, …", most frequent first.
func perPodKinds(by map[string]int, pods int) string {
	kinds := sortedKeys(by)
	sort.SliceStable(kinds, func(i, j int) bool { return by[kinds[i]] > by[kinds[j]] })
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %.2g", k, float64(by[k])/float64(pods)))
	}
	return strings.Join(parts, ", ")
}
