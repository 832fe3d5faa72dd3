package v1alpha1

import (
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// RevalidateInterval is the page's freshness lifetime; 0 means on demand only.
func (p *StaticPage) RevalidateInterval() time.Duration {
	if p.Spec.Revalidate == nil {
		return 0
	}
	return p.Spec.Revalidate.Duration
}

// DefaultAbsentFor is how long a path a visitor asked for, which the origin
// says does not exist or redirects, is remembered when its StaticPageSet
// has no revalidate interval.
const DefaultAbsentFor = time.Minute

// AbsentFor is how long a StaticPageSet's page created for a request, whose
// origin answered 404 or 410 or redirected, is kept as the cluster's memory
// of an absent or redirected path: the page's interval, or
// DefaultAbsentFor. The manager deletes it then, and servers tell
// downstream caches the 404 or 308 holds as long.
func (p *StaticPage) AbsentFor() time.Duration {
	if d := p.RevalidateInterval(); d > 0 {
		return d
	}
	return DefaultAbsentFor
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

// OwnerSet is the StaticPageSet the page belongs to, "" for a page with its
// own origin.
func (p *StaticPage) OwnerSet() string {
	return p.Spec.Set.Name
}

// Pages is status.pages, 0 when unset.
func (s *StaticPageSet) Pages() int32 {
	if s.Status.Pages == nil {
		return 0
	}
	return *s.Status.Pages
}

// FallbackMode is spec.fallback with the API default applied.
func (s *StaticPageSet) FallbackMode() Fallback {
	if s.Spec.Fallback == "" {
		return FallbackBlocking
	}
	return s.Spec.Fallback
}

// PageLimit is spec.maxPages with the API default applied.
func (s *StaticPageSet) PageLimit() int32 {
	if s.Spec.MaxPages <= 0 {
		return 10000
	}
	return s.Spec.MaxPages
}

// DefaultMaxBytes is spec.maxBytes of a StaticPageSet when unset: 256Mi.
const DefaultMaxBytes = 256 << 20

// ByteLimit is spec.maxBytes in bytes with the API default applied.
func (s *StaticPageSet) ByteLimit() int64 {
	if s.Spec.MaxBytes == nil {
		return DefaultMaxBytes
	}
	if s.Spec.MaxBytes.Cmp(*resource.NewQuantity(math.MaxInt64, resource.BinarySI)) >= 0 {
		return math.MaxInt64
	}
	return max(s.Spec.MaxBytes.Value(), 1)
}

// PageBytes is what a page takes toward its set's maxBytes:
// status.storedBytes, or for content published before that was recorded,
// status.size.
func (p *StaticPage) PageBytes() int64 {
	if p.Status.StoredBytes > 0 {
		return p.Status.StoredBytes
	}
	return p.Status.Size
}

// CreationRate is spec.maxCreationRate with the API default applied.
func (s *StaticPageSet) CreationRate() int32 {
	if s.Spec.MaxCreationRate <= 0 {
		return 10
	}
	return s.Spec.MaxCreationRate
}

// Mode is the set's revalidate mode with the API default applied.
func (s *StaticPageSet) Mode() RevalidateMode {
	if s.Spec.RevalidateMode == "" {
		return RevalidateInterval
	}
	return s.Spec.RevalidateMode
}

// ParameterPatterns maps each parameter spec.parameters constrains to its
// pattern; nil when there are none.
func (s *StaticPageSet) ParameterPatterns() map[string]string {
	if len(s.Spec.Parameters) == 0 {
		return nil
	}
	out := make(map[string]string, len(s.Spec.Parameters))
	for _, c := range s.Spec.Parameters {
		out[c.Name] = c.Pattern
	}
	return out
}
