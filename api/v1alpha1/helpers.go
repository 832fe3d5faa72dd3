package v1alpha1

import "time"

// RevalidateInterval is the page's freshness lifetime; 0 means on demand only.
func (p *StaticPage) RevalidateInterval() time.Duration {
	if p.Spec.Revalidate == nil {
		return 0
	}
	return p.Spec.Revalidate.Duration
}

// Mode is the page's revalidate mode with the API default applied, for
// objects built in Go that never went through the API server.
func (p *StaticPage) Mode() RevalidateMode {
	if p.Spec.RevalidateMode == "" {
		return RevalidateInterval
	}
	return p.Spec.RevalidateMode
}

// Suspended reports whether spec.suspend is set to true.
func (p *StaticPage) Suspended() bool {
	return p.Spec.Suspend != nil && *p.Spec.Suspend
}
