package server

import (
	"fmt"
	"sync"
	"time"
)

// CachePolicy sets the Cache-Control numbers sent downstream.
type CachePolicy struct {
	// StaleWhileRevalidate is how long a downstream cache may serve a stale
	// copy while it revalidates with this server.
	StaleWhileRevalidate time.Duration
	// StaleIfError is how long a downstream cache may serve a stale copy
	// when this server cannot be reached.
	StaleIfError time.Duration
	// OnDemandMaxAge is the s-maxage of pages without a revalidate interval,
	// which change only on demand: a downstream cache picks up a forced
	// update within this time.
	OnDemandMaxAge time.Duration
	// MaxBodyBytes caps a page's uncompressed size when loaded.
	MaxBodyBytes int64
	// CDN are the headers for the CDN in front; nil sends none. Options
	// builds it from the --cdn-* flags.
	CDN *CDNHeaders
}

// cacheControl is the Cache-Control header of a page with the given
// interval. Browsers revalidate every time (max-age=0, cheap with ETag);
// shared caches keep the page for its interval, and the Age header makes
// them count that interval from the render, not from their fetch.
func (p CachePolicy) cacheControl(revalidate time.Duration) string {
	smax := revalidate
	if smax <= 0 {
		smax = p.OnDemandMaxAge
	}
	return fmt.Sprintf("public, max-age=0, s-maxage=%d, stale-while-revalidate=%d, stale-if-error=%d",
		seconds(smax), seconds(p.StaleWhileRevalidate), seconds(p.StaleIfError))
}

// cacheControls holds one Cache-Control header value per policy and
// interval, shared by every entry with them: pages share a few intervals,
// and a server of many pages would otherwise hold a copy per page.
var cacheControls sync.Map // cacheControlKey -> *[]string

type cacheControlKey struct {
	policy     CachePolicy
	revalidate time.Duration
}

// cacheControlHeader is cacheControl as a header value, shared.
func (p CachePolicy) cacheControlHeader(revalidate time.Duration) *[]string {
	k := cacheControlKey{p, revalidate}
	if v, ok := cacheControls.Load(k); ok {
		return v.(*[]string)
	}
	v, _ := cacheControls.LoadOrStore(k, &[]string{p.cacheControl(revalidate)})
	return v.(*[]string)
}

func seconds(d time.Duration) int64 {
	if d < 0 {
		return 0
	}
	return int64(d / time.Second)
}
