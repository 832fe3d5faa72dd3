package revalidateapi

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

// annotatedPages counts re-renders asked for through the API: the load the
// API puts on origins.
var annotatedPages = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "isr_revalidate_api_pages_annotated_total",
	Help: "StaticPages annotated for a re-render by the revalidate API.",
})

// waitSeconds is how long calls with wait took, until every page was live
// or the timeout passed: how long a CMS waits for a publish.
var waitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "isr_revalidate_api_wait_seconds",
	Help:    "Time calls with wait spent until every page was live and purged from the CDNs covering it (outcome=live) or their timeout passed (outcome=timeout).",
	Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
}, []string{"outcome"})

func init() {
	ctrlmetrics.Registry.MustRegister(apiRequests, annotatedPages, waitSeconds)
}
