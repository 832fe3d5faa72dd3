package server

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// TestFallbackDecisionPerChildState: for each state of a set's page (absent,
// rendering, failed, withdrawn, served, ...) and what this replica remembers
// of its own wait, the fallback picks the one answer the table gives.
func TestFallbackDecisionPerChildState(t *testing.T) {
	const (
		blocking = pagesv1alpha1.FallbackBlocking
		notFound = pagesv1alpha1.FallbackNotFound
	)
	exists := childState{Exists: true}
	with := func(c childState, f func(*childState)) childState { f(&c); return c }
	for _, tc := range []struct {
		name     string
		fallback pagesv1alpha1.Fallback
		child    childState
		mem      flightMemory
		pages    int32
		want     decision
	}{
		{"served", blocking, childState{Exists: true, Rendered: true, Served: true}, flightMemory{}, 0, decServe},
		{"served wins over a failed re-render", blocking, childState{Exists: true, Rendered: true, Served: true, Reason: pagesv1alpha1.ReasonOriginError}, flightMemory{Failed: pagesv1alpha1.ReasonOriginError}, 0, decServe},
		{"served, fallback NotFound", notFound, childState{Exists: true, Rendered: true, Served: true}, flightMemory{}, 0, decServe},
		{"absent: create", blocking, childState{}, flightMemory{}, 9, decCreate},
		{"absent, set full", blocking, childState{}, flightMemory{}, 10, decFull},
		{"absent, set over full", blocking, childState{}, flightMemory{}, 11, decFull},
		{"absent, fallback NotFound", notFound, childState{}, flightMemory{}, 0, decNotFound},
		{"withdrawn: negative cache", blocking, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonWithdrawn }), flightMemory{}, 10, decWithdrawn},
		{"withdrawn, fallback NotFound", notFound, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonWithdrawn }), flightMemory{}, 0, decWithdrawn},
		{"redirected: 308 from the record", blocking, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonRedirected; c.Redirect = "/p/42" }), flightMemory{}, 10, decRedirect},
		{"redirected, fallback NotFound", notFound, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonRedirected; c.Redirect = "/p/42" }), flightMemory{}, 0, decRedirect},
		{"redirected outside the set: 404", blocking, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonRedirected }), flightMemory{}, 0, decWithdrawn},
		{"first render failed", blocking, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonOriginError }), flightMemory{}, 0, decFailed},
		{"first render timed out", blocking, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonOriginTimeout }), flightMemory{}, 0, decFailed},
		{"storage failed", blocking, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonStorageError }), flightMemory{}, 0, decFailed},
		{"re-render failed, content loading", blocking, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonOriginError; c.Rendered = true }), flightMemory{}, 0, decWait},
		{"rendered, not loaded yet", blocking, with(exists, func(c *childState) { c.Rendered = true }), flightMemory{}, 0, decWait},
		{"rendering", blocking, with(exists, func(c *childState) { c.Reason = "" }), flightMemory{}, 100, decWait},
		{"rendering, fallback NotFound", notFound, exists, flightMemory{}, 0, decWait},
		{"suspended", blocking, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonSuspended }), flightMemory{}, 0, decNotFound},
		{"outside its set", blocking, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonOutsideSet }), flightMemory{}, 0, decNotFound},
		{"set gone", blocking, with(exists, func(c *childState) { c.Reason = pagesv1alpha1.ReasonSetNotFound }), flightMemory{}, 0, decNotFound},
		{"being deleted before a render", blocking, with(exists, func(c *childState) { c.Deleting = true }), flightMemory{}, 0, decFailed},
		{"being deleted after a render", blocking, with(exists, func(c *childState) { c.Deleting = true; c.Rendered = true }), flightMemory{}, 0, decWait},
		{"created, not in the cache yet", blocking, childState{}, flightMemory{Created: true}, 10, decWait},
		{"created, then deleted", blocking, childState{}, flightMemory{Created: true, Gone: true}, 0, decFailed},
		{"failure seen, then deleted", blocking, childState{}, flightMemory{Created: true, Gone: true, Failed: pagesv1alpha1.ReasonOriginError}, 0, decFailed},
		{"failure seen, still there", blocking, exists, flightMemory{Created: true, Failed: pagesv1alpha1.ReasonBodyTooLarge}, 0, decFailed},
		{"gone before this wait created it", blocking, childState{}, flightMemory{Gone: true}, 0, decCreate},
	} {
		if got := decide(tc.fallback, tc.child, tc.mem, tc.pages, 10); got != tc.want {
			t.Errorf("%s: decide = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNegativeTTL(t *testing.T) {
	page := func(renderedAt time.Time, revalidate time.Duration) *pagesv1alpha1.StaticPage {
		p := &pagesv1alpha1.StaticPage{}
		p.Status.RenderedAt = &metav1.Time{Time: renderedAt}
		if revalidate > 0 {
			p.Spec.Revalidate = &metav1.Duration{Duration: revalidate}
		}
		return p
	}
	for _, tc := range []struct {
		name string
		page *pagesv1alpha1.StaticPage
		want time.Duration
	}{
		{"a minute without an interval", page(t0, 0), time.Minute - 10*time.Second},
		{"the set's interval", page(t0, 5*time.Minute), 5*time.Minute - 10*time.Second},
		{"past it", page(t0.Add(-time.Hour), 0), 0},
		{"never rendered", &pagesv1alpha1.StaticPage{}, 0},
	} {
		if got := negativeTTL(tc.page, t0.Add(10*time.Second)); got != tc.want {
			t.Errorf("%s: negativeTTL = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAnswer(t *testing.T) {
	for _, tc := range []struct {
		out          outcome
		code         int
		cacheControl string
		retryAfter   string
	}{
		{outcome{decision: decWithdrawn, negativeTTL: 42 * time.Second}, http.StatusNotFound, "public, max-age=0, s-maxage=42", ""},
		{outcome{decision: decNotFound}, http.StatusNotFound, "no-store", ""},
		{outcome{decision: decFailed}, http.StatusBadGateway, "no-store", ""},
		{outcome{decision: decFull, retryAfter: fullRetryAfter}, http.StatusServiceUnavailable, "no-store", "60"},
		{outcome{decision: decRateLimited, retryAfter: 1}, http.StatusServiceUnavailable, "no-store", "1"},
		{outcome{decision: decTimeout}, http.StatusGatewayTimeout, "no-store", ""},
		{outcome{decision: decCanceled}, http.StatusGatewayTimeout, "no-store", ""},
		{outcome{decision: decError, retryAfter: 5}, http.StatusServiceUnavailable, "no-store", "5"},
		{outcome{decision: decCollision, retryAfter: fullRetryAfter}, http.StatusServiceUnavailable, "no-store", "60"},
	} {
		w := httptest.NewRecorder()
		answer(w, tc.out)
		name := decisionResult[tc.out.decision]
		if w.Code != tc.code {
			t.Errorf("%s: code %d, want %d", name, w.Code, tc.code)
		}
		if got := w.Header().Get("Cache-Control"); got != tc.cacheControl {
			t.Errorf("%s: Cache-Control %q, want %q", name, got, tc.cacheControl)
		}
		if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
			t.Errorf("%s: Retry-After %q, want %q", name, got, tc.retryAfter)
		}
		if got := w.Header().Get("Content-Type"); got != "text/plain; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", name, got)
		}
	}
}

func TestFallbackTimeoutFlag(t *testing.T) {
	o := DefaultOptions()
	if o.FallbackTimeout != 10*time.Second {
		t.Errorf("default --fallback-timeout %s, want 10s", o.FallbackTimeout)
	}
	o.FallbackTimeout = -time.Second
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--fallback-timeout") {
		t.Errorf("Validate of a negative --fallback-timeout: %v", err)
	}
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	o = DefaultOptions()
	o.BindFlags(fs)
	if err := fs.Parse([]string{"--fallback-timeout=3s"}); err != nil || o.FallbackTimeout != 3*time.Second {
		t.Errorf("--fallback-timeout=3s gives %s, %v", o.FallbackTimeout, err)
	}
}
