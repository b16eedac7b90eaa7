package syncer

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
)

var apiRequests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "vkube_syncer_api_request_duration_seconds",
	Help:    "Requests of the syncer to the virtual and the host API server, by cluster, verb and status code.",
	Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
}, []string{"cluster", "verb", "code"})

// measureRequests records every request a client makes; watches count their setup only.
func measureRequests(cfg *rest.Config, cluster string) {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			began := time.Now()
			resp, err := rt.RoundTrip(req)
			code := "error"
			if err == nil {
				code = strconv.Itoa(resp.StatusCode)
			}
			apiRequests.WithLabelValues(cluster, verbOf(req), code).Observe(time.Since(began).Seconds())
			return resp, err
		})
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// verbOf names a request as the API server's audit log would, closely enough for a label.
func verbOf(req *http.Request) string {
	q := req.URL.Query()
	switch req.Method {
	case http.MethodGet:
		if q.Get("watch") == "true" || q.Get("watch") == "1" {
			return "watch"
		}
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		if strings.HasSuffix(req.URL.Path, "/status") {
			return "update-status"
		}
		return "update"
	default:
		return strings.ToLower(req.Method)
	}
}
