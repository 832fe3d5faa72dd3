package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RouteClaim records when a StaticPage or StaticPageSet claimed its host and
// route, as the manager first saw them in its spec: claims on one host and
// route are ordered by since, so an object whose host or route is changed
// claims anew, behind every object that held them before.
type RouteClaim struct {
	// host is the spec.host claimed, unset for any host.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=260
	Host string `json:"host,omitempty"`
	// route is the spec.route claimed: a path, or a StaticPageSet's pattern.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Route string `json:"route,omitempty"`
	// since is when the manager first saw this host and route in the spec,
	// to the microsecond (the object's creation time for the host and
	// route it was created with).
	// +required
	Since *metav1.MicroTime `json:"since,omitempty"`
}

// Recorded reports whether c holds a claim: the zero value holds none.
func (c RouteClaim) Recorded() bool { return c.Route != "" }

// Holds reports whether c is a claim on host and route.
func (c RouteClaim) Holds(host, route string) bool {
	return c.Recorded() && c.Host == host && c.Route == route
}

// claimSince is when an object claimed host and route: claim.since when
// claim holds them, the creation time when no claim is recorded yet; ok is
// false when the recorded claim is for another host or route (the spec
// changed since), until the manager records the new one.
func claimSince(claim RouteClaim, host, route string, created metav1.Time) (since time.Time, ok bool) {
	switch {
	case !claim.Recorded():
		return created.Time, true
	case claim.Holds(host, route):
		if claim.Since == nil {
			return created.Time, true
		}
		return claim.Since.Time, true
	}
	return time.Time{}, false
}

// ClaimSince is when the page claimed its spec's host and route, which
// orders it among pages claiming the same (the earliest serves); ok is
// false while the claim of a changed host or route is not recorded yet.
func (p *StaticPage) ClaimSince() (time.Time, bool) {
	return claimSince(p.Status.Claim, p.Spec.Host, p.Spec.Route, p.CreationTimestamp)
}

// ClaimSince is when the set claimed its spec's host and route pattern,
// which orders it among sets whose patterns overlap on that host; ok is
// false while the claim of a changed host or route is not recorded yet.
func (s *StaticPageSet) ClaimSince() (time.Time, bool) {
	return claimSince(s.Status.Claim, s.Spec.Host, s.Spec.Route, s.CreationTimestamp)
}

// NewClaim is the claim an object of host and route records at now: an
// object that never recorded one claims from its creation time, as objects
// were ordered before claims were recorded; one whose host or route changed
// claims from now.
func NewClaim(old RouteClaim, host, route string, created metav1.Time, now time.Time) RouteClaim {
	since := metav1.NewMicroTime(now)
	if !old.Recorded() {
		since = metav1.NewMicroTime(created.Time)
	}
	return RouteClaim{Host: host, Route: route, Since: &since}
}
