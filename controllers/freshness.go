package controllers

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// The page freshness metrics, computed at each scrape from the StaticPages
// the manager's cache holds. Every manager replica exports them (the cache
// is not the leader's alone): aggregate with max, not sum.
var (
	pagesDesc = prometheus.NewDesc("isr_pages",
		"StaticPages, by namespace and StaticPageSet (set is empty for pages of no set).",
		[]string{"namespace", "set"}, nil)
	pagesStaleDesc = prometheus.NewDesc("isr_pages_stale",
		"StaticPages with a revalidate interval whose last successful render (or creation, before the first) is older than the interval, by namespace, set and revalidate mode; suspended pages are left out.",
		[]string{"namespace", "set", "mode"}, nil)
	pagesOverdueDesc = prometheus.NewDesc("isr_pages_overdue",
		"StaticPages with a revalidate interval whose last successful render (or creation, before the first) is older than twice the interval, by namespace, set and revalidate mode; suspended pages are left out.",
		[]string{"namespace", "set", "mode"}, nil)
	oldestAgeDesc = prometheus.NewDesc("isr_pages_oldest_age_seconds",
		"Age of the oldest last successful render (or creation, before the first) among the StaticPages with a revalidate interval, by namespace, set and revalidate mode; suspended pages are left out.",
		[]string{"namespace", "set", "mode"}, nil)
	notReadyDesc = prometheus.NewDesc("isr_pages_not_ready",
		"StaticPages whose Ready condition is not True, by namespace, set and the condition's reason (Unknown when it has none yet).",
		[]string{"namespace", "set", "reason"}, nil)
)

// ReasonNone is the reason label of isr_pages_not_ready for a page with no
// Ready condition yet.
const ReasonNone = "Unknown"

// freshnessGroup is what one label set of the freshness metrics holds.
type freshnessGroup struct {
	namespace, set, mode string
}

// freshness is how fresh a collection of pages is, per group: the values of
// the freshness metrics.
type freshness struct {
	// Pages counts pages by namespace and set (mode empty).
	Pages map[freshnessGroup]int
	// Stale, Overdue and OldestAge are per namespace, set and mode, for
	// the pages with an interval that are not suspended; every such group
	// is present, at zero when none of its pages is late.
	Stale, Overdue map[freshnessGroup]int
	OldestAge      map[freshnessGroup]time.Duration
	// NotReady counts pages by namespace, set and reason (in mode's place).
	NotReady map[freshnessGroup]int
}

// measureFreshness computes the freshness metrics of pages at now. A page's
// age runs from its last successful render (status.renderedAt; a withdrawal
// counts, since the origin answered), or from its creation before the
// first.
func measureFreshness(pages []pagesv1alpha1.StaticPage, now time.Time) freshness {
	f := freshness{
		Pages: map[freshnessGroup]int{}, Stale: map[freshnessGroup]int{}, Overdue: map[freshnessGroup]int{},
		OldestAge: map[freshnessGroup]time.Duration{}, NotReady: map[freshnessGroup]int{},
	}
	for i := range pages {
		p := &pages[i]
		set := p.OwnerSet()
		f.Pages[freshnessGroup{namespace: p.Namespace, set: set}]++
		if ready := meta.FindStatusCondition(p.Status.Conditions, pagesv1alpha1.ReadyCondition); ready == nil {
			f.NotReady[freshnessGroup{namespace: p.Namespace, set: set, mode: ReasonNone}]++
		} else if ready.Status != metav1.ConditionTrue {
			f.NotReady[freshnessGroup{namespace: p.Namespace, set: set, mode: ready.Reason}]++
		}
		interval := p.RevalidateInterval()
		if interval <= 0 || p.Suspended() {
			continue
		}
		g := freshnessGroup{namespace: p.Namespace, set: set, mode: string(p.Mode())}
		since := p.CreationTimestamp.Time
		if p.Status.RenderedAt != nil {
			since = p.Status.RenderedAt.Time
		}
		age := max(now.Sub(since), 0)
		f.Stale[g] += boolInt(age > interval)
		f.Overdue[g] += boolInt(age > 2*interval)
		f.OldestAge[g] = max(f.OldestAge[g], age)
	}
	return f
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FreshnessCollector exports the freshness metrics of the StaticPages a
// reader (the manager's cache) holds, computed when Prometheus scrapes.
type FreshnessCollector struct {
	// Reader lists the StaticPages.
	Reader client.Reader
	// Clock is the time source; nil means the real clock.
	Clock clock.PassiveClock
	// Log records a listing that failed (the scrape then has no freshness
	// metrics).
	Log func(err error)
}

// listTimeout bounds the listing a scrape waits for, as while the cache
// starts.
const listTimeout = 5 * time.Second

// Describe implements prometheus.Collector.
func (c *FreshnessCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pagesDesc, pagesStaleDesc, pagesOverdueDesc, oldestAgeDesc, notReadyDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *FreshnessCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	list := &pagesv1alpha1.StaticPageList{}
	// Read only: the cache's objects are not copied.
	if err := c.Reader.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		if c.Log != nil {
			c.Log(err)
		}
		return
	}
	clk := c.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	f := measureFreshness(list.Items, clk.Now())
	for g, n := range f.Pages {
		ch <- prometheus.MustNewConstMetric(pagesDesc, prometheus.GaugeValue, float64(n), g.namespace, g.set)
	}
	for g, n := range f.Stale {
		ch <- prometheus.MustNewConstMetric(pagesStaleDesc, prometheus.GaugeValue, float64(n), g.namespace, g.set, g.mode)
	}
	for g, n := range f.Overdue {
		ch <- prometheus.MustNewConstMetric(pagesOverdueDesc, prometheus.GaugeValue, float64(n), g.namespace, g.set, g.mode)
	}
	for g, age := range f.OldestAge {
		ch <- prometheus.MustNewConstMetric(oldestAgeDesc, prometheus.GaugeValue, age.Seconds(), g.namespace, g.set, g.mode)
	}
	for g, n := range f.NotReady {
		ch <- prometheus.MustNewConstMetric(notReadyDesc, prometheus.GaugeValue, float64(n), g.namespace, g.set, g.mode)
	}
}

// registered is the FreshnessCollector on controller-runtime's registry.
var registered struct {
	sync.Mutex
	c prometheus.Collector
}

// registerFreshness puts c on controller-runtime's registry in place of
// the one a previous Setup in this process put there.
func registerFreshness(c prometheus.Collector) error {
	registered.Lock()
	defer registered.Unlock()
	if registered.c != nil {
		ctrlmetrics.Registry.Unregister(registered.c)
	}
	registered.c = c
	return ctrlmetrics.Registry.Register(c)
}
