package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// apiRequests counts calls by status code, so refused callers (401, 429)
// show up next to the ones that worked.
var apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "isr_revalidate_api_requests_total",
	Help: "Calls to the revalidate API, by HTTP status code.",
}, []string{"code"})

func init() {
	ctrlmetrics.Registry.MustRegister(apiRequests)
}
