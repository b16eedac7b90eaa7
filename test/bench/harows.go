package main

import (
	"fmt"
	"slices"
)

// haResult is the HA part: 3 local replicas on embedded etcd, and the syncer's hand-over on
// the real host.
type haResult struct {
	// Unavailable says why the local replicas could not run.
	Unavailable string `json:",omitempty"`
	// Kills planned; Victims (replica index) and UnavailableSeconds of each done: the longest
	// span without an acknowledged write through a surviving replica, from the kill until the
	// victim, restarted with its data, serves again (and 2 s more). WriterOutageSeconds are the
	// spans of failed writes alone, as test/framework's Writer reports them.
	Kills               int
	Victims             []int
	UnavailableSeconds  []float64
	WriterOutageSeconds [][]float64
	// Acked writes over all kills, Lost of them missing from a LIST through some replica.
	Acked       int
	Lost        int
	LostChecked bool
	// ThroughputHA and ThroughputSingle: creates/s of Creates ConfigMaps from Clients
	// goroutines, spread over the 3 replicas, and against a single embedded-etcd vkube.
	Creates          int
	Clients          int
	ThroughputHA     []float64
	ThroughputSingle []float64
	// HandoverUnavailable says why the real host's figure was not measured. HandoverSeconds of
	// each kill: the Lease holder's pod force-deleted → the Lease held by another replica and a
	// virtual pod created right after the kill on the host (the later of LeaseSeconds and
	// PodSeconds).
	HandoverUnavailable  string `json:",omitempty"`
	HandoverKills        int
	HandoverSeconds      []float64
	HandoverLeaseSeconds []float64
	HandoverPodSeconds   []float64
	HandoverFromTo       []string
	// Gaps: per datastore, the longest API gap for a writer through the API Service while the
	// Lease holder (one of 3 replicas on the host) is killed.
	Gaps []haGap
	// ServiceHolderMs and ServiceOtherMs: Service create p50 through the Lease holder's own API
	// server and through another replica's.
	ServiceHolderMs, ServiceOtherMs float64
	ServiceLatencyFailed            string `json:",omitempty"`
}

// rows renders the HA part (r.mu is held by the caller).
func (x *haResult) rows() []row {
	na := func(why string) string { return "n/a (" + why + ")" }
	unavail := row{Figure: fmt.Sprintf("API unavailability when 1 of 3 local replicas (embedded etcd) is SIGKILLed, longest span without an acknowledged write through a surviving replica, %d kills rotating, each restarted with its data (s)", x.Kills),
		Bare: "—", Ratio: "—", Target: "max ≤ 10 s"}
	tput := row{Figure: fmt.Sprintf("write throughput, %d ConfigMap creates from %d clients, 3 replicas vs 1, embedded etcd (creates/s)", x.Creates, x.Clients),
		Bare: "—", Ratio: "—", Target: "report"}
	lost := row{Figure: fmt.Sprintf("acknowledged writes lost over all %d kills, read back through every replica", x.Kills),
		Bare: "—", Ratio: "—", Target: "0"}
	hand := row{Figure: fmt.Sprintf("syncer hand-over: Lease holder's pod force-deleted → Lease held by another replica and a pod created after the kill on the host, 3 replicas on the real host, %d kills (s)", x.HandoverKills),
		Bare: "—", Ratio: "—", Target: "≤ 5 s"}
	if x.Unavailable != "" {
		unavail.Vkube, tput.Vkube, lost.Vkube = na(x.Unavailable), na(x.Unavailable), na(x.Unavailable)
	} else {
		unavail.Vkube = maxMedian(x.UnavailableSeconds, x.Kills, "kills")
		if len(x.UnavailableSeconds) > 0 {
			unavail.Target = verdict(unavail.Target, slices.Max(x.UnavailableSeconds) <= 10 && len(x.UnavailableSeconds) == x.Kills)
		}
		switch {
		case len(x.ThroughputHA) == 0 || len(x.ThroughputSingle) == 0:
			tput.Vkube = fmt.Sprintf("failed (%d runs of 3 replicas, %d of 1)", len(x.ThroughputHA), len(x.ThroughputSingle))
		default:
			ha, one := medianOf(x.ThroughputHA), medianOf(x.ThroughputSingle)
			tput.Figure = fmt.Sprintf("write throughput, %d ConfigMap creates from %d clients, 3 replicas vs 1, embedded etcd, median of %d (creates/s)", x.Creates, x.Clients, min(len(x.ThroughputHA), len(x.ThroughputSingle)))
			tput.Vkube = fmt.Sprintf("%.0f vs %.0f", ha, one)
			tput.Ratio = fmt.Sprintf("%.2f×", ha/one)
		}
		if x.LostChecked {
			lost.Vkube = fmt.Sprintf("%d of %d", x.Lost, x.Acked)
			lost.Target = verdict("0", x.Lost == 0)
		} else {
			lost.Vkube = "failed"
		}
	}
	if x.HandoverUnavailable != "" {
		hand.Vkube = na(x.HandoverUnavailable)
	} else {
		hand.Vkube = maxMedian(x.HandoverSeconds, x.HandoverKills, "kills")
		if len(x.HandoverSeconds) > 0 {
			hand.Target = verdict(hand.Target, slices.Max(x.HandoverSeconds) <= 5 && len(x.HandoverSeconds) == x.HandoverKills)
		}
	}
	rows := []row{unavail, tput, lost, hand}
	for _, g := range x.Gaps {
		r := row{Figure: fmt.Sprintf("longest API gap for a writer (%v request timeout) through the API Service while 1 of 3 replicas (the syncer's Lease holder) is force-deleted on the real host, %s (s)", gapWriterTimeout, g.Datastore),
			Bare: "—", Ratio: "—", Target: "≤ 5 s"}
		if g.Failed != "" {
			r.Vkube = "failed: " + g.Failed
		} else {
			r.Vkube = fmt.Sprintf("%.2f", g.Seconds)
			r.Target = verdict(r.Target, g.Seconds <= 5)
		}
		rows = append(rows, r)
	}
	if x.HandoverUnavailable == "" {
		r := row{Figure: "Service create through a replica that does not hold the syncer Lease vs through the holder, p50 of 20 each, 3 replicas on the real host (ms)",
			Bare: "—", Target: "≤ 1.5×"}
		if x.ServiceLatencyFailed != "" || x.ServiceHolderMs == 0 {
			r.Vkube, r.Ratio = "failed: "+x.ServiceLatencyFailed, "—"
		} else {
			r.Vkube = fmt.Sprintf("%.1f vs %.1f", x.ServiceOtherMs, x.ServiceHolderMs)
			ratio := x.ServiceOtherMs / x.ServiceHolderMs
			r.Ratio = fmt.Sprintf("%.2f×", ratio)
			r.Target = verdict(r.Target, ratio <= 1.5)
		}
		rows = append(rows, r)
	}
	return rows
}

// maxMedian is "max X (median Y)", with how many of planned were not measured.
func maxMedian(v []float64, planned int, what string) string {
	if len(v) == 0 {
		return "failed"
	}
	s := fmt.Sprintf("max %.2f (median %.2f)", slices.Max(v), medianOf(v))
	if len(v) < planned {
		s += fmt.Sprintf(" (%d of %d %s failed)", planned-len(v), planned, what)
	}
	return s
}
