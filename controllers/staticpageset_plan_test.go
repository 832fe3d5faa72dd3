package controllers

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
)

// child is a set's page created by, at created, optionally served at
// requestedAt.
func child(name, by string, created time.Time, requestedAt string) *pagesv1alpha1.StaticPage {
	c := &pagesv1alpha1.StaticPage{}
	c.Name = name
	c.Spec.Route = "/p/" + name
	c.Labels = map[string]string{pagesv1alpha1.CreatedByLabel: by}
	c.CreationTimestamp = metav1.Time{Time: created}
	if requestedAt != "" {
		c.Annotations = map[string]string{pagesv1alpha1.RequestedAtAnnotation: requestedAt}
	}
	return c
}

func names(pages []*pagesv1alpha1.StaticPage) []string {
	var out []string
	for _, p := range pages {
		out = append(out, p.Name)
	}
	return out
}

func TestExpired(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	stamp := func(d time.Duration) string { return ago(d).Format(time.RFC3339) }
	const req, pre = pagesv1alpha1.CreatedByRequest, pagesv1alpha1.CreatedByPrerender
	tests := []struct {
		name     string
		children []*pagesv1alpha1.StaticPage
		due      []string
		next     time.Duration
	}{
		{"nothing", nil, nil, 0},
		{"created long ago, never served", []*pagesv1alpha1.StaticPage{child("a", req, ago(2*time.Hour), "")}, []string{"a"}, 0},
		{"exactly at the deadline", []*pagesv1alpha1.StaticPage{child("a", req, ago(time.Hour), "")}, []string{"a"}, 0},
		{"served recently: the annotation counts", []*pagesv1alpha1.StaticPage{child("a", req, ago(3*time.Hour), stamp(10*time.Minute))}, nil, 50 * time.Minute},
		{"served long ago", []*pagesv1alpha1.StaticPage{child("a", req, ago(3*time.Hour), stamp(2*time.Hour))}, []string{"a"}, 0},
		{"annotation older than creation: creation counts", []*pagesv1alpha1.StaticPage{child("a", req, ago(20*time.Minute), stamp(5*time.Hour))}, nil, 40 * time.Minute},
		{"unreadable annotation: creation counts", []*pagesv1alpha1.StaticPage{child("a", req, ago(2*time.Hour), "yesterday")}, []string{"a"}, 0},
		{"far-future annotation: creation counts, the page is not pinned", []*pagesv1alpha1.StaticPage{child("a", req, ago(2*time.Hour), stamp(-100*365*24*time.Hour))}, []string{"a"}, 0},
		{"annotation a little ahead (a server's clock): it counts", []*pagesv1alpha1.StaticPage{child("a", req, ago(2*time.Hour), stamp(-30*time.Second))}, nil, time.Hour + 30*time.Second},
		{"prerendered pages never expire", []*pagesv1alpha1.StaticPage{child("a", pre, ago(5*time.Hour), "")}, nil, 0},
		{"unlabelled pages never expire", []*pagesv1alpha1.StaticPage{child("a", "", ago(5*time.Hour), "")}, nil, 0},
		{"next is the soonest of the rest", []*pagesv1alpha1.StaticPage{
			child("c", req, ago(50*time.Minute), ""),
			child("b", req, ago(2*time.Hour), ""),
			child("a", req, ago(10*time.Minute), ""),
			child("d", req, ago(3*time.Hour), stamp(61*time.Minute)),
		}, []string{"b", "d"}, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			due, next := Expired(tc.children, time.Hour, now)
			if got := names(due); !slices.Equal(got, tc.due) || next != tc.next {
				t.Errorf("Expired = %v, %s; want %v, %s", got, next, tc.due, tc.next)
			}
		})
	}
}

func TestEvictions(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	now := at(100)
	const req, pre = pagesv1alpha1.CreatedByRequest, pagesv1alpha1.CreatedByPrerender
	pages := []*pagesv1alpha1.StaticPage{
		child("p1", pre, at(9), ""),
		// Created first, requested last: the most recently used.
		child("r1", req, at(1), at(50).Format(time.RFC3339)),
		child("r3", req, at(3), ""),
		child("p2", pre, at(10), ""),
		child("r2b", req, at(2), ""),
		child("r2a", req, at(2), ""),
		// A requested-at ahead of the clock counts as none.
		child("r0", req, at(0), at(1000).Format(time.RFC3339)),
	}
	tests := []struct {
		limit, reserve int
		want           []string
	}{
		{10, 0, nil},
		{7, 0, nil},
		{6, 0, []string{"r0"}},
		// Same last use: the smaller name goes first, as every replica of
		// the manager would decide.
		{5, 0, []string{"r0", "r2a"}},
		{3, 0, []string{"r0", "r2a", "r2b", "r3"}},
		// Prerendered pages are never evicted, even over the limit.
		{1, 0, []string{"r0", "r2a", "r2b", "r3", "r1"}},
		// Room for prerender paths without a page, below the limit too.
		{10, 3, nil},
		{10, 4, []string{"r0"}},
		{8, 3, []string{"r0", "r2a"}},
		{7, 7, []string{"r0", "r2a", "r2b", "r3", "r1"}},
	}
	for _, tc := range tests {
		if got := names(Evictions(pages, tc.limit, tc.reserve, math.MaxInt64, now)); !slices.Equal(got, tc.want) {
			t.Errorf("Evictions(limit %d, reserve %d) = %v, want %v", tc.limit, tc.reserve, got, tc.want)
		}
	}
}

func TestEvictionsForgetAbsentPathsFirst(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	const req, pre = pagesv1alpha1.CreatedByRequest, pagesv1alpha1.CreatedByPrerender
	absent := func(name string, created time.Time) *pagesv1alpha1.StaticPage {
		c := child(name, req, created, "")
		c.Status.Conditions = []metav1.Condition{{Type: pagesv1alpha1.ReadyCondition, Status: metav1.ConditionFalse, Reason: pagesv1alpha1.ReasonWithdrawn}}
		return c
	}
	pages := []*pagesv1alpha1.StaticPage{
		child("p1", pre, at(1), ""),
		absent("a2", at(5)),
		child("r1", req, at(2), ""),
		absent("a1", at(3)),
		child("r2", req, at(4), ""),
	}
	tests := []struct {
		limit int
		want  []string
	}{
		{6, nil},
		// Full: the absent paths go, oldest first, and make room.
		{5, []string{"a1", "a2"}},
		{4, []string{"a1", "a2"}},
		{3, []string{"a1", "a2"}},
		// Still over: then the least recently requested page.
		{2, []string{"a1", "a2", "r1"}},
		// A prerendered page stays, even over the limit.
		{0, []string{"a1", "a2", "r1", "r2"}},
	}
	for _, tc := range tests {
		if got := names(Evictions(pages, tc.limit, 0, math.MaxInt64, at(100))); !slices.Equal(got, tc.want) {
			t.Errorf("Evictions(limit %d) = %v, want %v", tc.limit, got, tc.want)
		}
	}
}

func TestEvictionsUnderMaxBytes(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	const req, pre = pagesv1alpha1.CreatedByRequest, pagesv1alpha1.CreatedByPrerender
	sized := func(c *pagesv1alpha1.StaticPage, stored, size int64) *pagesv1alpha1.StaticPage {
		c.Status.StoredBytes, c.Status.Size = stored, size
		return c
	}
	withdrawn := child("gone", req, at(0), "")
	withdrawn.Status.Conditions = []metav1.Condition{{Type: pagesv1alpha1.ReadyCondition, Status: metav1.ConditionFalse, Reason: pagesv1alpha1.ReasonWithdrawn}}
	pages := []*pagesv1alpha1.StaticPage{
		sized(child("p1", pre, at(1), ""), 300, 900),
		sized(child("p2", pre, at(2), ""), 200, 600),
		// Least recently requested first: old, then mid, then recent.
		sized(child("recent", req, at(3), at(60).Format(time.RFC3339)), 100, 300),
		sized(child("old", req, at(4), ""), 100, 300),
		sized(child("mid", req, at(5), at(30).Format(time.RFC3339)), 100, 300),
		// Rendered before storedBytes was recorded: its size counts.
		sized(child("legacy", req, at(6), at(40).Format(time.RFC3339)), 0, 50),
		// Not rendered yet, and a path the origin lacks: they free nothing.
		child("new", req, at(2), ""),
		withdrawn,
	}
	// The pages take 850 bytes; prerendered ones 500.
	tests := []struct {
		name     string
		limit    int
		maxBytes int64
		want     []string
	}{
		{"under both bounds", 100, 850, nil},
		{"one byte over: the least recently requested page goes", 100, 849, []string{"old"}},
		{"then the next ones, skipping pages with no content", 100, 650, []string{"old", "mid"}},
		{"size counts when storedBytes is unset", 100, 600, []string{"old", "mid", "legacy"}},
		{"prerendered pages stay, even over maxBytes", 100, 100, []string{"old", "mid", "legacy", "recent"}},
		// Over maxPages too: the absent path goes first, then pages by last
		// use for the page bound, then more for bytes.
		{"both bounds", 7, 700, []string{"gone", "old", "mid"}},
		{"page bound alone: by last use, content or none", 6, math.MaxInt64, []string{"gone", "new"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(Evictions(pages, tc.limit, 0, tc.maxBytes, at(100))); !slices.Equal(got, tc.want) {
				t.Errorf("Evictions(limit %d, maxBytes %d) = %v, want %v", tc.limit, tc.maxBytes, got, tc.want)
			}
		})
	}
}

func TestValidateSet(t *testing.T) {
	set := func(name, route, origin string) *pagesv1alpha1.StaticPageSet {
		s := &pagesv1alpha1.StaticPageSet{}
		s.Name, s.Spec.Route, s.Spec.Origin.URL = name, route, origin
		return s
	}
	tests := []struct {
		set *pagesv1alpha1.StaticPageSet
		err string
	}{
		{set("shop", "/products/{id}", "http://shop.svc/p/{id}?x={id}"), ""},
		{set("shop", "/docs/{path...}", "http://shop.svc/docs/{path}"), ""},
		{set("shop", "/docs/{path...}", "http://shop.svc/docs/{path...}"), ""},
		{set("shop", "/{id}/{id}", "http://shop.svc/p/{id}"), "appears twice"},
		{set("shop", "/products/{id}", "http://shop.svc/p/{slug}"), "refers to {slug}"},
		{set("shop", "/products/{id}", "http://shop.svc/p/{id"), "without '}'"},
		{set("shop", "/products/{id}", "http://{id}.svc/p"), "never in the scheme or host"},
		{set(strings.Repeat("s", 64), "/products/{id}", "http://shop.svc/p/{id}"), "label value"},
	}
	for _, tc := range tests {
		p, err := ValidateSet(tc.set)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ValidateSet(%q, %q): %v", tc.set.Spec.Route, tc.set.Spec.Origin.URL, err)
		case tc.err == "" && p == nil:
			t.Errorf("ValidateSet(%q, %q) gave no pattern", tc.set.Spec.Route, tc.set.Spec.Origin.URL)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ValidateSet(%q, %q) = %v, want an error about %q", tc.set.Spec.Route, tc.set.Spec.Origin.URL, err, tc.err)
		}
	}
}

func TestSitemapRoute(t *testing.T) {
	p, err := route.ParsePattern("/products/{id}")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, loc, want string
	}{
		{"", "https://any.example/products/42", "/products/42"},
		{"shop.example", "https://shop.example/products/42", "/products/42"},
		{"shop.example", "https://SHOP.example./products/42", "/products/42"},
		{"shop.example", "https://shop.example:443/products/42", "/products/42"},
		{"shop.example", "https://shop.example/products/42?ref=x", "/products/42"},
		{"shop.example", "https://shop.example/products/caf%C3%A9", "/products/café"},
		{"shop.example", "https://other.example/products/42", ""},
		{"shop.example", "https://shop.example/products/42/reviews", ""},
		{"shop.example", "https://shop.example/products/a%2Fb", ""},
		{"shop.example", "https://shop.example/products/..", ""},
		{"shop.example", "https://shop.example/about", ""},
		{"shop.example", "ftp://shop.example/products/42", ""},
		{"shop.example", "/products/42", ""},
		{"shop.example", "://", ""},
	}
	for _, tc := range tests {
		got, ok := sitemapRoute(p, tc.host, tc.loc)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("sitemapRoute(%q, %q) = %q, %v; want %q", tc.host, tc.loc, got, ok, tc.want)
		}
	}
}
