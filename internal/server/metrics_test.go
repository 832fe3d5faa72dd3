package server

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// serveCounts is how many requests isr_server_request_duration_seconds
// holds, by cache state and status class.
func serveCounts(t *testing.T) (n [cacheStates][len(statusClasses)]uint64) {
	t.Helper()
	for s := range serveObservers {
		for c, o := range serveObservers[s] {
			var m dto.Metric
			if err := o.(interface{ Write(*dto.Metric) error }).Write(&m); err != nil {
				t.Fatal(err)
			}
			n[s][c] = m.GetHistogram().GetSampleCount()
		}
	}
	return n
}

// TestServeLatencyLabels times every request once, under the cache state
// and status class it was answered with, on every page server.
func TestServeLatencyLabels(t *testing.T) {
	cases := []struct {
		name, method, target string
		hdr                  []string
		at                   time.Duration
		state, class         int
	}{
		{"fresh hit", "GET", "http://x/", nil, 10 * time.Second, cacheHit, 0},
		{"revalidated", "GET", "http://x/", []string{"If-None-Match", "*"}, 10 * time.Second, cacheHit, 1},
		{"stale", "GET", "http://x/", nil, 2 * time.Minute, cacheStale, 0},
		{"stale revalidated", "HEAD", "http://x/", []string{"If-None-Match", "*"}, 2 * time.Minute, cacheStale, 1},
		{"unknown path", "GET", "http://x/nothing", nil, 10 * time.Second, cacheMiss, 2},
		{"other method", "POST", "http://x/", nil, 10 * time.Second, cacheMiss, 2},
		{"cold page, store down", "GET", "http://x/cold", nil, 10 * time.Second, cacheMiss, 3},
	}
	forEachServer(t, func(t *testing.T, serve func(*Handler) http.Handler) {
		h, clk, _ := newTestHandler(t)
		page, _ := testPage("cold", "", "/cold", "cold", time.Minute, pagesv1alpha1.RevalidateInterval)
		h.Table.Put((&Entry{cold: true}).withPage(page, CachePolicy{}))
		h.Load = func(context.Context, *Entry) (*Entry, error) { return nil, errors.New("store down") }
		srv := serve(h)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				clk.SetTime(t0.Add(c.at))
				before := serveCounts(t)
				do(srv, c.method, c.target, c.hdr...)
				after := serveCounts(t)
				for s := range after {
					for cl := range after[s] {
						want := before[s][cl]
						if s == c.state && cl == c.class {
							want++
						}
						if after[s][cl] != want {
							t.Errorf("cache=%s status_class=%s: %d requests timed, want %d",
								cacheStateNames[s], statusClasses[cl], after[s][cl]-before[s][cl], want-before[s][cl])
						}
					}
				}
			})
		}
	})
}

// TestObserveServeAllocatesNothing times requests of many durations, as a
// real clock gives them, without allocating once each bucket of the native
// histogram has been used.
func TestObserveServeAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("counts allocations")
	}
	durations := make([]time.Duration, 0, 64)
	for d := time.Microsecond; d < 20*time.Second; d = d * 5 / 4 {
		durations = append(durations, d)
	}
	for _, d := range durations {
		observeServe(cacheHit, http.StatusOK, d)
	}
	i := 0
	if n := testing.AllocsPerRun(len(durations)*4, func() {
		observeServe(cacheHit, http.StatusOK, durations[i%len(durations)])
		i++
	}); n != 0 {
		t.Errorf("%.1f allocations per observation, want 0", n)
	}
}
