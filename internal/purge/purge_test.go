package purge

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

func cdn(mode pagesv1alpha1.PurgeBy, hosts ...string) *pagesv1alpha1.CDN {
	return &pagesv1alpha1.CDN{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "edge"},
		Spec:       pagesv1alpha1.CDNSpec{Provider: pagesv1alpha1.ProviderVarnish, PurgeBy: mode, Hosts: hosts},
	}
}

func TestPlanFor(t *testing.T) {
	changes := []Change{
		{Namespace: "shop", Name: "a", Host: "shop.example.com", Route: "/a"},
		{Namespace: "shop", Name: "b", Host: "", Route: "/b"},
		{Namespace: "shop", Name: "c", Host: "other.example.com", Route: "/c"},
		{Namespace: "blog", Name: "d", Host: "shop.example.com", Route: "/d"},
	}

	p := PlanFor(cdn(""), changes)
	if want := []string{"isr_page_shop_a", "isr_page_shop_b", "isr_page_shop_c"}; !slices.Equal(p.Tags, want) || p.URLs != nil {
		t.Errorf("by tags, every host: tags %q, urls %v; want %q", p.Tags, p.URLs, want)
	}

	p = PlanFor(cdn(pagesv1alpha1.PurgeByURLs, "shop.example.com", "www.example.com"), changes)
	want := []HostPath{{"shop.example.com", "/a"}, {"shop.example.com", "/b"}, {"www.example.com", "/b"}}
	if !slices.Equal(p.URLs, want) || p.Tags != nil || len(p.Changes) != 2 {
		t.Errorf("by URL on two hosts: %v (%d changes), want %v", p.URLs, len(p.Changes), want)
	}
}

func TestBatches(t *testing.T) {
	got := Batches([]int{1, 2, 3, 4, 5}, 2)
	if len(got) != 3 || !slices.Equal(got[2], []int{5}) {
		t.Errorf("Batches = %v", got)
	}
	if Batches([]int(nil), 2) != nil {
		t.Error("no items, no batch")
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, time.Second},
		{2, 0, 2 * time.Second},
		{4, 0, 8 * time.Second},
		{10, 0, time.Minute},
		{1, 30 * time.Second, 30 * time.Second}, // Retry-After wins when longer
		{3, time.Second, 4 * time.Second},
		{1, time.Hour, time.Minute}, // but never past the limit
	} {
		if got := Backoff(tc.attempt, time.Second, time.Minute, tc.retryAfter); got != tc.want {
			t.Errorf("Backoff(%d, retry-after %v) = %v, want %v", tc.attempt, tc.retryAfter, got, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Mon, 07 Dec 2026 12:00:30 GMT": 30 * time.Second,
		"Mon, 07 Dec 2026 11:00:00 GMT": 0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestVarnishRequests checks the requests against a loopback server
// standing in for varnishd's VCL (the real one is in the controllers
// suite): the xkey purge, the URL purge, and the answers that are retried.
func TestVarnishRequests(t *testing.T) {
	var got []*http.Request
	answer := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Clone(context.Background()))
		if answer == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "3")
		}
		w.WriteHeader(answer)
	}))
	defer srv.Close()
	v := &Varnish{HTTP: srv.Client()}
	ctx := context.Background()

	if err := v.Tags(ctx, srv.URL, []string{"isr_page_a_b", "isr_page_a_c"}); err != nil {
		t.Fatal(err)
	}
	if r := got[0]; r.Method != "PURGE" || r.URL.Path != "/" || r.Header.Get("xkey-purge") != "isr_page_a_b isr_page_a_c" {
		t.Errorf("tag purge: %s %s xkey-purge=%q", r.Method, r.URL.Path, r.Header.Get("xkey-purge"))
	}
	if err := v.URL(ctx, srv.URL, "shop.example.com", "/products/42"); err != nil {
		t.Fatal(err)
	}
	if r := got[1]; r.Method != "PURGE" || r.URL.Path != "/products/42" || r.Host != "shop.example.com" {
		t.Errorf("URL purge: %s %s Host %s", r.Method, r.URL.Path, r.Host)
	}

	answer = http.StatusNotFound // "Key not found": nothing to purge
	if err := v.Tags(ctx, srv.URL, []string{"x"}); err != nil {
		t.Errorf("404 is no failure: %v", err)
	}
	for code, retry := range map[int]bool{http.StatusTooManyRequests: true, http.StatusServiceUnavailable: true, http.StatusForbidden: false} {
		answer = code
		err := v.Tags(ctx, srv.URL, []string{"x"})
		var perr *Error
		if !errors.As(err, &perr) || perr.Retryable != retry {
			t.Errorf("%d: %v, want retryable=%v", code, err, retry)
		}
		if code == http.StatusTooManyRequests && perr.RetryAfter != 3*time.Second {
			t.Errorf("429 Retry-After: %v", perr.RetryAfter)
		}
	}
}
