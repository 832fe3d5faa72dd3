package server

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/storage"
)

// content is a loaded entry's bodies and the headers that go with them,
// shared by the entries that serve the same content.
type content struct {
	// reps holds the body in each coding; has says which exist.
	reps             [numCodings]representation
	has              [numCodings]bool
	contentType      []string
	lastModified     []string
	lastModifiedTime time.Time
}

// Entry is one servable page, immutable once in the table: a new render
// replaces the entry. A server holds one per page, most of them cold when
// its pages outgrow --cache-size, so it is kept to a 192-byte allocation:
// times as Unix nanoseconds, the digest as bytes, what few pages have
// behind a pointer.
type Entry struct {
	// Page names the StaticPage the entry serves.
	Page types.NamespacedName
	// Host is the page's host ("" for any host); Route its path.
	Host, Route string
	// digest is the status digest the bodies were loaded for.
	digest digest.Compact
	// created is when the page claimed its host and route (status.claim):
	// the earliest claim of a host and route wins it. renderedAt is when
	// the origin last confirmed the content.
	created, renderedAt int64
	// Revalidate is the freshness lifetime; 0 means on demand only.
	Revalidate time.Duration
	// Annotation is the revalidate annotation's value when loaded.
	Annotation string
	// Unavailable is set on a page whose content the store could not give:
	// it is answered 503 with Retry-After until it loads.
	Unavailable bool
	// onRequest is set for the revalidate mode OnRequest.
	onRequest bool

	// cold is set on an entry without bodies (over --cache-size): its next
	// request loads them.
	cold bool
	// referenced is set when the entry is served, for the body cache's
	// CLOCK: a page served since the hand passed keeps its bodies.
	referenced atomic.Bool
	// triggered is set once the stale entry has asked for a re-render; the
	// next render replaces the entry, and with it the flag.
	triggered atomic.Bool
	// touched is set once a newer requested-at annotation was asked for
	// (see request). The flags sit together.
	touched atomic.Bool

	// content is what a loaded entry serves; nil on a cold or unavailable
	// one, which is most entries of a server whose pages outgrow
	// --cache-size, so they do not carry its fields.
	*content
	// cacheControl is the Cache-Control header value, shared by every
	// entry with the same interval.
	cacheControl *[]string
	// cdn are the header fields for the CDN in front (CDNHeaders), built
	// when the page is published; nil when none are sent.
	cdn *[]headerField

	// request is set on a page a visitor's request created.
	request *setRequest
}

// setRequest is what an entry keeps of a page a visitor's request created.
type setRequest struct {
	// set names the page's StaticPageSet.
	set string
	// at is its requested-at annotation (its change replaces the entry,
	// and with it touched).
	at time.Time
}

// Digest is the status digest the entry's bodies were loaded for.
func (e *Entry) Digest() string { return e.digest.String() }

// Created is when the page claimed its host and route, which orders pages
// claiming the same.
func (e *Entry) Created() time.Time { return unixTime(e.created) }

// RouteClaim is the page's claim on its host and route, for the table's
// route index.
func (e *Entry) RouteClaim() route.Claim {
	return route.Claim{Page: e.Page, Host: e.Host, Route: e.Route, Created: e.Created()}
}

// RenderedAt is when the origin last confirmed the content.
func (e *Entry) RenderedAt() time.Time { return unixTime(e.renderedAt) }

// unixNano is t as an entry holds a time: Unix nanoseconds, 0 for the zero
// time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// unixTime is the time unixNano made n of.
func unixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
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
	// Gzip is offered only when smaller than the body: ConfigMaps hold it
	// even for a tiny page that gzip makes larger. Brotli is offered when smaller than what a gzip client gets.
	beat := len(body)
	if obj.Gzip != nil && len(obj.Gzip) < len(body) {
		e.reps[codingGzip] = newRepresentation(obj.Gzip, `"`+hex+`-gzip"`, "gzip")
		e.has[codingGzip] = true
		beat = len(obj.Gzip)
	}
	// A store holds brotli already when it was smaller (S3, and ConfigMaps
	// where it fits beside the gzip); for a ConfigMap that holds gzip only
	// (written before ConfigMaps kept brotli), it is made here.
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

// claimSince is when page claimed its host and route; RouteSync serves no
// page whose claim of a changed host or route is not recorded yet.
func claimSince(page *pagesv1alpha1.StaticPage) time.Time {
	since, _ := page.ClaimSince()
	return since
}

// withPage returns a copy of e, sharing its bodies, with the page's current
// metadata: route, interval and render time change without new content.
func (e *Entry) withPage(page *pagesv1alpha1.StaticPage, policy CachePolicy) *Entry {
	n := &Entry{
		Page:        types.NamespacedName{Namespace: page.Namespace, Name: page.Name},
		Host:        route.NormalizeHost(page.Spec.Host),
		Route:       page.Spec.Route,
		created:     unixNano(claimSince(page)),
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
	n.cdn = policy.CDN.fields(page.Status.Tags)
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

// coldCopy is e without its bodies: routing, headers and revalidation go on
// working, and the next request loads the bodies again.
func (e *Entry) coldCopy() *Entry {
	n := &Entry{
		Page: e.Page, Host: e.Host, Route: e.Route, created: e.created, digest: e.digest,
		renderedAt: e.renderedAt, Revalidate: e.Revalidate, onRequest: e.onRequest, Annotation: e.Annotation,
		cacheControl: e.cacheControl, cdn: e.cdn, request: e.request, cold: true,
	}
	return n
}

// size is the bytes of bodies e holds.
func (e *Entry) size() int64 {
	var n int64
	if e.content == nil {
		return 0
	}
	for c, ok := range e.has {
		if ok {
			n += int64(len(e.reps[c].body))
		}
	}
	return n
}
