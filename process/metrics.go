package process

import "github.com/prometheus/client_golang/prometheus"

var (
	childRestarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vkube_child_restarts_total",
		Help: "Times a control-plane child process was restarted after exiting.",
	}, []string{"component"})
	childUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "vkube_child_running",
		Help: "1 while the control-plane child process is running.",
	}, []string{"component"})
)

// Collectors are the metrics of this package, for the supervisor's registry.
func Collectors() []prometheus.Collector { return []prometheus.Collector{childRestarts, childUp} }
