package server

import (
	"time"

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

// The body cache (--cache-size).
var (
	// cacheBytes is what the bodies held take, against --cache-size.
	cacheBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "isr_server_cache_bytes",
		Help: "Bytes of page bodies held in memory (bounded by --cache-size).",
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
		Help: "Loads of page bodies from storage (ConfigMap or object store) on a request for a page not in memory.",
	})
)

// The fallback of StaticPageSets (requests for paths with no page yet).
var (
	// fallbackTotal counts the answers to requests for a set's path that
	// had no page in the table, by result.
	fallbackTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_server_fallback_total",
		Help: "Requests for a StaticPageSet's path with no page in memory, by result (served, withdrawn, not_found, failed, full, rate_limited, timeout, canceled, error, collision).",
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

// The listeners' connection caps.
var (
	// connectionsRefused counts connections closed at accept for a cap.
	connectionsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_server_connections_refused_total",
		Help: "Connections to the page port or the revalidate API answered and closed at once, by the cap they were over (max_connections, per_client).",
	}, []string{"reason"})
)

// Cache states of a request, the cache label of
// isr_server_request_duration_seconds.
const (
	// cacheHit: a fresh page served from memory.
	cacheHit = iota
	// cacheStale: a stale page served from memory (and re-rendered behind it).
	cacheStale
	// cacheMiss: no page held in memory answered: an unknown path (404),
	// another method (405), or a page not in memory (over --cache-size, or
	// not requested since the start) loaded from its ConfigMap or the
	// object store for this request (200, or 503 when it cannot be).
	cacheMiss
	// cacheFallback: a StaticPageSet's path with no page yet, answered by
	// the set's fallback (created and rendered, or refused).
	cacheFallback
	cacheStates
)

// cacheStateNames are the values of the cache label, by cache state.
var cacheStateNames = [cacheStates]string{"hit", "stale", "miss", "fallback"}

// statusClasses are the values of the status_class label; the page port
// answers nothing outside them.
var statusClasses = [...]string{"2xx", "3xx", "4xx", "5xx"}

// serveSeconds is how long the server takes to answer a page request, from
// its handler's start to the response handed to the connection. It is both
// a classic histogram and, for a Prometheus that asks for it, a native one.
var serveSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name: "isr_server_request_duration_seconds",
	Help: "Time to answer a page request, by cache state (hit, stale, miss, fallback) and status class (2xx, 3xx, 4xx, 5xx).",
	// From a hit in memory to a fallback waiting for a render, up to the
	// default --fallback-timeout.
	Buckets:                         []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	NativeHistogramBucketFactor:     1.1,
	NativeHistogramMaxBucketNumber:  160,
	NativeHistogramMinResetDuration: time.Hour,
}, []string{"cache", "status_class"})

// serveObservers are the children of serveSeconds, resolved once so that
// timing a request looks nothing up and allocates nothing; every
// combination is exported from the start, at zero.
var serveObservers = func() (o [cacheStates][len(statusClasses)]prometheus.Observer) {
	for s := range o {
		for c := range o[s] {
			o[s][c] = serveSeconds.WithLabelValues(cacheStateNames[s], statusClasses[c])
		}
	}
	return o
}()

// observeServe records a request of cache state state answered with code
// after d.
func observeServe(state, code int, d time.Duration) {
	if c := code/100 - 2; c >= 0 && c < len(statusClasses) {
		serveObservers[state][c].Observe(d.Seconds())
	}
}

// fallbackRefusals counts the requests a StaticPageSet's limits refused,
// per set: a set that keeps refusing needs a higher maxPages or
// maxCreationRate, or is being walked by a crawler; and those whose path's
// page name is taken by another page, which someone made to squat it.
var fallbackRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "isr_server_fallback_refusals_total",
	Help: "Requests for a StaticPageSet's path with no page that were refused, by namespace, set and reason (full: maxPages; rate_limited: maxCreationRate; collision: the name of the path's page is taken by another page).",
}, []string{"namespace", "set", "reason"})

func init() {
	ctrlmetrics.Registry.MustRegister(requests, revalidateRequests, pagesGauge, cacheBytes, evictionsTotal, coldLoadsTotal,
		fallbackTotal, createsTotal, requestedAtTotal, serveSeconds, fallbackRefusals, connectionsRefused)
}
