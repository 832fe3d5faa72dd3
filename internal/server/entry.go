package server

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/storage"
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

// NewEntry builds the entry serving obj for page, decompressing the body
// once so that clients that do not accept gzip cost nothing per request.
func NewEntry(page *pagesv1alpha1.StaticPage, obj *storage.Object, policy CachePolicy) (*Entry, error) {
	body, err := obj.Body(policy.MaxBodyBytes)
	if err != nil {
		return nil, fmt.Errorf("loading %s/%s: %w", page.Namespace, page.Name, err)
	}
	body = exact(body)
	hex := digest.Hex(obj.Digest)
	ct := obj.ContentType
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	e := &Entry{
		digest: digest.NewCompact(obj.Digest),
		content: &content{
			contentType:      []string{ct},
			lastModifiedTime: obj.StoredAt.UTC().Truncate(time.Second),
		},
	}
	// Each coding has its own strong ETag: the bytes differ.
	e.reps[identity] = newRepresentation(body, `"`+hex+`"`, "")
	e.has[identity] = true
	// Gzip is offered only when smaller than the body: a store that keeps
	// gzip only (ConfigMaps) holds it even for a tiny page that gzip makes
	// larger. Brotli is offered when smaller than what a gzip client gets.
	beat := len(body)
	if obj.Gzip != nil && len(obj.Gzip) < len(body) {
		e.reps[codingGzip] = newRepresentation(obj.Gzip, `"`+hex+`-gzip"`, "gzip")
		e.has[codingGzip] = true
		beat = len(obj.Gzip)
	}
	// A store that compressed at render (S3) holds brotli already; for one
	// that keeps gzip only (ConfigMaps), it is made once here.
	br := obj.Brotli
	if br == nil && obj.Identity == nil {
		br = compressBrotli(body, beat)
	}
	if br != nil {
		e.reps[codingBrotli] = newRepresentation(br, `"`+hex+`-br"`, "br")
		e.has[codingBrotli] = true
	}
	e.lastModified = []string{e.lastModifiedTime.Format(http.TimeFormat)}
	return e.withPage(page, policy), nil
}

// unavailable is the entry of a page whose content cannot be loaded now
// because the store is down: it answers 503 with Retry-After, never 404.
func unavailable(page *pagesv1alpha1.StaticPage, policy CachePolicy) *Entry {
	e := (&Entry{}).withPage(page, policy)
	e.Unavailable = true
	return e
}

// withPage returns a copy of e, sharing its bodies, with the page's current
// metadata: route, interval and render time change without new content.
func (e *Entry) withPage(page *pagesv1alpha1.StaticPage, policy CachePolicy) *Entry {
	n := &Entry{
		Page:        types.NamespacedName{Namespace: page.Namespace, Name: page.Name},
		Host:        route.NormalizeHost(page.Spec.Host),
		Route:       page.Spec.Route,
		created:     unixNano(page.CreationTimestamp.Time),
		digest:      e.digest,
		Revalidate:  page.RevalidateInterval(),
		onRequest:   page.Mode() == pagesv1alpha1.RevalidateOnRequest,
		Annotation:  page.Annotations[pagesv1alpha1.RevalidateAnnotation],
		content:     e.content,
		Unavailable: e.Unavailable,
		cold:        e.cold,
	}
	if page.Status.RenderedAt != nil {
		n.renderedAt = unixNano(page.Status.RenderedAt.Time)
	}
	n.cacheControl = policy.cacheControlHeader(n.Revalidate)
	if page.OwnerSet() != "" && page.Labels[pagesv1alpha1.CreatedByLabel] == pagesv1alpha1.CreatedByRequest {
		n.request = &setRequest{set: page.OwnerSet()}
		// Unset or unreadable: the page was never marked served, so the
		// first serve marks it.
		n.request.at, _ = time.Parse(time.RFC3339, page.Annotations[pagesv1alpha1.RequestedAtAnnotation])
	}
	return n
}

// Stale reports whether the entry is past its interval at now, and its
// remaining freshness (negative once stale).
func (e *Entry) Stale(now time.Time) (stale bool, ttl time.Duration) {
	if e.Revalidate <= 0 {
		return false, 0
	}
	ttl = e.Revalidate - e.sinceRender(now)
	return ttl <= 0, ttl
}

// sinceRender is now.Sub(e.RenderedAt()), in integers on the hit path.
func (e *Entry) sinceRender(now time.Time) time.Duration {
	if e.renderedAt == 0 {
		return now.Sub(time.Time{})
	}
	return time.Duration(now.UnixNano() - e.renderedAt)
}

// RevalidateToken is the annotation value a stale hit sets: derived from the
// render it replaces, so every replica asks with the same value and the
// controller renders once.
func (e *Entry) RevalidateToken() string {
	return tokenPrefix + strconv.FormatInt(e.RenderedAt().Unix(), 10)
}

// tokenPrefix starts every RevalidateToken.
const tokenPrefix = "stale-"
