package v1alpha1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClaimSince(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	claimedAt := metav1.NewMicroTime(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	claimed := &claimedAt
	page := func(host, route string, claim RouteClaim) *StaticPage {
		return &StaticPage{
			ObjectMeta: metav1.ObjectMeta{CreationTimestamp: created},
			Spec:       StaticPageSpec{Host: host, Route: route},
			Status:     StaticPageStatus{Claim: claim},
		}
	}
	for _, c := range []struct {
		name   string
		page   *StaticPage
		since  time.Time
		wantOK bool
	}{
		{"no claim recorded: the creation time", page("a.example", "/x", RouteClaim{}), created.Time, true},
		{"the claim of the spec's host and route", page("a.example", "/x", RouteClaim{Host: "a.example", Route: "/x", Since: claimed}), claimed.Time, true},
		{"the host changed since the claim", page("b.example", "/x", RouteClaim{Host: "a.example", Route: "/x", Since: claimed}), time.Time{}, false},
		{"the route changed since the claim", page("a.example", "/y", RouteClaim{Host: "a.example", Route: "/x", Since: claimed}), time.Time{}, false},
		{"the host was removed since the claim", page("", "/x", RouteClaim{Host: "a.example", Route: "/x", Since: claimed}), time.Time{}, false},
	} {
		since, ok := c.page.ClaimSince()
		if ok != c.wantOK || !since.Equal(c.since) {
			t.Errorf("%s: ClaimSince() = %v, %v; want %v, %v", c.name, since, ok, c.since, c.wantOK)
		}
	}
	set := &StaticPageSet{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: created}, Spec: StaticPageSetSpec{Host: "a.example", Route: "/p/{id}"}}
	if since, ok := set.ClaimSince(); !ok || !since.Equal(created.Time) {
		t.Errorf("set without a claim: ClaimSince() = %v, %v; want its creation time", since, ok)
	}
	set.Spec.Route = "/q/{id}"
	set.Status.Claim = RouteClaim{Host: "a.example", Route: "/p/{id}", Since: claimed}
	if _, ok := set.ClaimSince(); ok {
		t.Errorf("set whose route changed since its claim: ClaimSince() ok")
	}
}

func TestNewClaim(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	now := time.Date(2026, 6, 1, 0, 0, 0, 1000, time.UTC)
	if c := NewClaim(RouteClaim{}, "a.example", "/x", created, now); !c.Since.Time.Equal(created.Time) || !c.Holds("a.example", "/x") {
		t.Errorf("first claim = %+v, want a.example /x since the creation time", c)
	}
	createdAt := metav1.NewMicroTime(created.Time)
	old := RouteClaim{Host: "a.example", Route: "/x", Since: &createdAt}
	if c := NewClaim(old, "b.example", "/x", created, now); !c.Since.Time.Equal(now) || !c.Holds("b.example", "/x") {
		t.Errorf("claim of a changed host = %+v, want b.example /x since now", c)
	}
}
