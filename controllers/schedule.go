package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// Why a page is rendered now; logged and counted in metrics.
const (
	DueRequested   = "Requested"   // a new revalidate annotation value
	DueSpecChanged = "SpecChanged" // the spec changed since the last render
	DueFirstRender = "FirstRender" // never rendered
	DueRetry       = "Retry"       // the last render failed
	DueInterval    = "Interval"    // the revalidate interval has passed
	// DueStorageMissing: the stored page status points to is gone.
	DueStorageMissing = "StorageMissing"
)

// Decision is what Decide says to do with a page now.
type Decision struct {
	// Render is true when the page must be rendered now.
	Render bool
	// Why names the reason to render (one of the Due* constants).
	Why string
	// After is when to look again if not rendering; 0 means only on change.
	After time.Duration
}

// Decide says whether page is due for a render at now, from its spec and
// status alone, so that a restarted controller renders exactly what is due.
// In Interval mode the page is never looked at later than its interval.
func Decide(page *pagesv1alpha1.StaticPage, now time.Time) Decision {
	if page.Suspended() {
		return Decision{}
	}
	if Requested(page) {
		return Decision{Render: true, Why: DueRequested}
	}
	originChanged := page.Status.OriginURL != "" && page.Status.OriginURL != page.Spec.Origin.URL
	if originChanged || page.Status.ObservedGeneration != page.Generation && !setSettingsOnly(page) {
		// A StaticPageSet's new template changes no generation of its
		// pages, but their origin.
		return Decision{Render: true, Why: DueSpecChanged}
	}
	if page.Status.RenderedAt == nil {
		return Decision{Render: true, Why: DueFirstRender}
	}
	if ready := meta.FindStatusCondition(page.Status.Conditions, pagesv1alpha1.ReadyCondition); ready == nil ||
		(ready.Status != metav1.ConditionTrue && ready.Reason != pagesv1alpha1.ReasonWithdrawn && ready.Reason != pagesv1alpha1.ReasonRedirected) {
		return Decision{Render: true, Why: DueRetry}
	}
	interval := page.RevalidateInterval()
	if interval <= 0 || page.Mode() != pagesv1alpha1.RevalidateInterval {
		return Decision{}
	}
	due := page.Status.RenderedAt.Add(interval)
	if !now.Before(due) {
		return Decision{Render: true, Why: DueInterval}
	}
	return Decision{After: due.Sub(now)}
}

// setSettingsOnly is true for a StaticPageSet's page, rendered before from
// the origin its set gives it now: a new generation then only carries the
// set's revalidate settings, copied by the set's controller, which change
// when the page is next due, not now. Without this, changing a set's
// interval would re-render every one of its pages at once.
func setSettingsOnly(page *pagesv1alpha1.StaticPage) bool {
	return page.OwnerSet() != "" && page.Status.RenderedAt != nil &&
		page.Status.OriginURL != "" && page.Status.OriginURL == page.Spec.Origin.URL
}

// Requested is true when the revalidate annotation holds a value not yet
// acted on.
func Requested(page *pagesv1alpha1.StaticPage) bool {
	v := page.Annotations[pagesv1alpha1.RevalidateAnnotation]
	return v != "" && v != page.Status.LastHandledRevalidate
}

// NextAfterRender is when to look at a page again after a successful render
// at renderedAt: after its interval in Interval mode, otherwise only on change.
func NextAfterRender(page *pagesv1alpha1.StaticPage, renderedAt, now time.Time) time.Duration {
	interval := page.RevalidateInterval()
	if interval <= 0 || page.Mode() != pagesv1alpha1.RevalidateInterval {
		return 0
	}
	// renderedAt is stored with second precision; measuring from the
	// truncated time keeps the requeue no later than the interval.
	after := renderedAt.Truncate(time.Second).Add(interval).Sub(now)
	if after <= 0 {
		return time.Millisecond
	}
	return after
}
