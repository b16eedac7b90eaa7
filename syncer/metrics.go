package syncer

import "github.com/prometheus/client_golang/prometheus"

var syncTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "vkube_syncer_reconciles_total",
	Help: "Reconciles of synced objects by resource and result.",
}, []string{"resource", "result"})

var syncedFromHost = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "vkube_syncer_status_updates_total",
	Help: "Status updates copied from host objects to virtual ones.",
}, []string{"resource"})

var reconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "vkube_syncer_reconcile_duration_seconds",
	Help:    "Time of one reconcile of a synced object, by resource.",
	Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
}, []string{"resource"})

// Collectors are the syncer's metrics, for the supervisor's registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{syncTotal, syncedFromHost, reconcileDuration, apiRequests}
}

func resultLabel(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
