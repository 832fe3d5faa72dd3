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
)

func init() {
	ctrlmetrics.Registry.MustRegister(rendersTotal, renderSeconds, storageWritesTotal)
}
