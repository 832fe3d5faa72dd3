// Package server serves rendered pages from memory with HTTP
// stale-while-revalidate semantics, and keeps its route table in step with
// the StaticPages and their stored content.
package server

import (
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/route"
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
	// created orders pages claiming the same host and route: the oldest
	// wins. renderedAt is when the origin last confirmed the content.
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

// Created is the page's creation time, which orders pages claiming the same
// host and route.
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

// Table maps host and route to entries, with the routing rules of
// internal/route (host fallback, oldest page wins). Reads take a shared
// lock only.
type Table struct {
	idx *route.Index[*Entry]
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{idx: route.NewIndex[*Entry]()}
}

// Lookup finds the entry for a request's host and path: a page for that
// host first, then one for any host.
func (t *Table) Lookup(host, path string) *Entry {
	e, _ := t.idx.Lookup(host, path)
	return e
}

// Get returns the entry of a page, or nil.
func (t *Table) Get(page types.NamespacedName) *Entry {
	e, _ := t.idx.Get(page)
	return e
}

// Len is the number of pages in the table.
func (t *Table) Len() int { return t.idx.Len() }

// Put adds or replaces a page's entry.
func (t *Table) Put(e *Entry) {
	t.idx.Put(e)
}

// Delete removes a page's entry.
func (t *Table) Delete(page types.NamespacedName) { t.idx.Delete(page) }

// Held is true when the page a request for host and path is answered with
// has its bodies in memory (not cold, over --cache-size).
func (t *Table) Held(host, path string) bool {
	e := t.Lookup(host, path)
	return e != nil && !e.cold && !e.Unavailable
}

// ServedPage names the page a request for host and path is answered with.
func (t *Table) ServedPage(host, path string) (types.NamespacedName, bool) {
	if e := t.Lookup(host, path); e != nil {
		return e.Page, true
	}
	return types.NamespacedName{}, false
}

// ServedDigest is the digest of the content served for page, if any.
func (t *Table) ServedDigest(page types.NamespacedName) (string, bool) {
	if e := t.Get(page); e != nil {
		return e.Digest(), true
	}
	return "", false
}
