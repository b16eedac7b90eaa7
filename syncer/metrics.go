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

// Collectors are the syncer's metrics, for the supervisor's registry.
func Collectors() []prometheus.Collector { return []prometheus.Collector{syncTotal, syncedFromHost} }

func resultLabel(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
