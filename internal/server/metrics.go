package server

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Results of a request, the label of isr_server_requests_total.
const (
	resultHit         = "hit"
	resultStale       = "stale"
	resultNotModified = "not_modified"
	resultMiss        = "miss"
	resultMethod      = "method_not_allowed"
	// resultUnavailable: a known page whose content the store cannot give.
	resultUnavailable = "unavailable"
)

var (
	// requests counts requests by result, so the stale share is visible.
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_server_requests_total",
		Help: "Page requests served, by result (hit, stale, not_modified, miss, method_not_allowed, unavailable).",
	}, []string{"result"})

	// The children of requests, resolved once: serving a request then costs
	// one atomic add, with no label lookup.
	hitCounter         = requests.WithLabelValues(resultHit)
	staleCounter       = requests.WithLabelValues(resultStale)
	notModifiedCounter = requests.WithLabelValues(resultNotModified)
	missCounter        = requests.WithLabelValues(resultMiss)
	methodCounter      = requests.WithLabelValues(resultMethod)
	unavailableCounter = requests.WithLabelValues(resultUnavailable)

	// revalidateRequests counts re-render requests sent on stale hits.
	revalidateRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_server_revalidate_requests_total",
		Help: "Re-render requests sent for stale OnRequest pages, by outcome.",
	}, []string{"outcome"})

	// pagesGauge is the number of pages in the route table.
	pagesGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "isr_server_pages",
		Help: "Pages held in memory by this server.",
	})
)

func init() {
	ctrlmetrics.Registry.MustRegister(requests, revalidateRequests, pagesGauge)
}
