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

// The body cache (--cache-size, with an object store).
var (
	// cacheBytes is what the bodies held take, against --cache-size.
	cacheBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "isr_server_cache_bytes",
		Help: "Bytes of page bodies held in memory (bounded by --cache-size with an object store).",
	})
	// evictionsTotal counts pages whose bodies were dropped for room: a
	// steady rise means --cache-size is smaller than the pages in demand.
	evictionsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "isr_server_cache_evictions_total",
		Help: "Pages whose bodies were dropped from memory to stay within --cache-size.",
	})
	// coldLoadsTotal counts loads of a page's bodies on its request.
	coldLoadsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "isr_server_cache_loads_total",
		Help: "Loads of page bodies from the object store on a request for a page not in memory.",
	})
)

// The fallback of StaticPageSets (requests for paths with no page yet).
var (
	// fallbackTotal counts the answers to requests for a set's path that
	// had no page in the table, by result.
	fallbackTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_server_fallback_total",
		Help: "Requests for a StaticPageSet's path with no page in memory, by result (served, withdrawn, not_found, failed, full, rate_limited, timeout, canceled, error).",
	}, []string{"result"})
	// createsTotal counts the pages this replica created for visitors.
	createsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_server_fallback_creates_total",
		Help: "StaticPages created for a requested path of a StaticPageSet, by outcome (created; exists: another replica or request had; error).",
	}, []string{"outcome"})
	// requestedAtTotal counts the requested-at annotations set.
	requestedAtTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_server_requested_at_updates_total",
		Help: "Updates of the requested-at annotation of served pages that visitors caused, by outcome.",
	}, []string{"outcome"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(requests, revalidateRequests, pagesGauge, cacheBytes, evictionsTotal, coldLoadsTotal,
		fallbackTotal, createsTotal, requestedAtTotal)
}
