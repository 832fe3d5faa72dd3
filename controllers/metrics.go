package controllers

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/purge"
)

var (
	// rendersTotal counts origin fetches by result (a condition reason).
	rendersTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_renders_total",
		Help: "Renders of pages from their origins, by result.",
	}, []string{"result"})

	// renderSeconds measures origin fetches, to see which origins are slow.
	renderSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "isr_render_duration_seconds",
		Help:    "Time to fetch a page from its origin.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	})

	// storageWritesTotal counts pages written to storage; renders whose
	// content did not change write nothing.
	storageWritesTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "isr_storage_writes_total",
		Help: "Pages written to storage because their content changed.",
	})

	// deferredTotal counts renders put off because their origin host was at
	// --max-concurrent-renders-per-host (cap "host") or their namespace at
	// --max-concurrent-renders-per-namespace (cap "namespace"); a steady
	// rise means the cap, or the origin, is too small for the pages due.
	deferredTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_renders_deferred_total",
		Help: "Renders put off because their origin host (cap=host) or their namespace (cap=namespace) had the most renders in flight allowed.",
	}, []string{"cap"})

	// sweptTotal counts digests the object store sweep removed: superseded
	// content and the objects of pages deleted while the store was down.
	sweptTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "isr_storage_swept_total",
		Help: "Digests removed from the object store because no StaticPage points to them.",
	})
)

// The purge metrics' labels: provider is a CDN's spec.provider (an enum),
// result a reason of its Ready condition, outcome one of three words.
var (
	// purgesTotal counts purges of a CDN, one per batch, by how they
	// ended.
	purgesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_cdn_purges_total",
		Help: "Purges of a batch of changed pages from a CDN, by provider and result (Purged, PurgeFailed, Unsupported).",
	}, []string{"provider", "result"})

	// purgeRequestsTotal counts the requests purges sent, each try
	// included: what the CDN's rate limits count.
	purgeRequestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "isr_cdn_purge_requests_total",
		Help: "Requests sent to CDNs to purge pages, tries included, by provider and outcome (ok, rate_limited, error).",
	}, []string{"provider", "outcome"})

	// purgeLatencySeconds is how long after its publish a change was
	// acknowledged by a CDN: the window, the wait for every server
	// replica, and the purge with its retries.
	purgeLatencySeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "isr_cdn_purge_latency_seconds",
		Help:    "Time from a page's new content being published until a CDN acknowledged its purge, by provider.",
		Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300},
	}, []string{"provider"})

	// purgeBatchPages is how many pages one purge of a CDN covered.
	purgeBatchPages = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "isr_cdn_purge_batch_pages",
		Help:    "Pages covered by one purge of a CDN, by provider.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 7),
	}, []string{"provider"})

	// purgePendingPages is how many pages have new content that is not
	// purged from every CDN covering them yet.
	purgePendingPages = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "isr_cdn_purge_pending_pages",
		Help: "Pages whose new content waits for a purge from the CDNs in front (queued, being purged, or failed and to be retried).",
	})
)

// observePurge records a purge of plan from a CDN of provider that ended
// at end with err.
func observePurge(provider pagesv1alpha1.CDNProvider, plan purge.Plan, err error, end time.Time) {
	p := string(provider)
	result := pagesv1alpha1.ReasonPurged
	if err != nil {
		result = purgeResult(err)
	}
	purgesTotal.WithLabelValues(p, result).Inc()
	purgeBatchPages.WithLabelValues(p).Observe(float64(len(plan.Changes)))
	if err != nil {
		return
	}
	for _, c := range plan.Changes {
		purgeLatencySeconds.WithLabelValues(p).Observe(end.Sub(c.Published).Seconds())
	}
}

// countPurgeRequest records one request sent to a CDN of provider.
func countPurgeRequest(provider pagesv1alpha1.CDNProvider, err error) {
	outcome := "ok"
	var perr *purge.Error
	switch {
	case err == nil:
	case errors.As(err, &perr) && perr.Code == http.StatusTooManyRequests:
		outcome = "rate_limited"
	default:
		outcome = "error"
	}
	purgeRequestsTotal.WithLabelValues(string(provider), outcome).Inc()
}

func init() {
	ctrlmetrics.Registry.MustRegister(rendersTotal, renderSeconds, storageWritesTotal, deferredTotal, sweptTotal,
		purgesTotal, purgeRequestsTotal, purgeLatencySeconds, purgeBatchPages, purgePendingPages)
}
