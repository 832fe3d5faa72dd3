package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
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

func init() {
	ctrlmetrics.Registry.MustRegister(rendersTotal, renderSeconds, storageWritesTotal, deferredTotal, sweptTotal)
}
