// Package server serves rendered pages from memory with HTTP
// stale-while-revalidate semantics, and keeps its route table in step with
// the StaticPages and their stored content.
package server

import (
	"errors"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// Entry is one servable page, immutable once in the table: a new render
// replaces the entry.
type Entry struct {
	// Page names the StaticPage the entry serves.
	Page types.NamespacedName
	// Host is the page's host ("" for any host); Route its path.
	Host, Route string
	// Created orders pages claiming the same host and route: the oldest wins.
	Created time.Time
	// Digest is the status digest the bodies were loaded for.
	Digest string
	// RenderedAt is when the origin last confirmed the content.
	RenderedAt time.Time
	// Revalidate is the freshness lifetime; 0 means on demand only.
	Revalidate time.Duration
	// Mode is the page's revalidate mode.
	Mode pagesv1alpha1.RevalidateMode
	// Annotation is the revalidate annotation's value when loaded.
	Annotation string

	// reps holds the body in each coding; has says which exist.
	reps             [numCodings]representation
	has              [numCodings]bool
	contentType      []string
	lastModified     []string
	lastModifiedTime time.Time
	cacheControl     []string

	// triggered is set once the stale entry has asked for a re-render; the
	// next render replaces the entry, and with it the flag.
	triggered atomic.Bool
}

// key is where an entry sits in the table.
func key(host, route string) string { return host + "\x00" + route }

// Table maps host and route to entries. Reads take a shared lock only.
type Table struct {
	mu sync.RWMutex
	// routes holds the winner for each key.
	routes map[string]*Entry
	// pages holds every page's entry, winner or not.
	pages map[types.NamespacedName]*Entry
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{routes: map[string]*Entry{}, pages: map[types.NamespacedName]*Entry{}}
}

// Lookup finds the entry for a request's host and path: a page for that
// host first, then one for any host.
func (t *Table) Lookup(host, path string) *Entry {
	host = NormalizeHost(host)
	t.mu.RLock()
	defer t.mu.RUnlock()
	if host != "" {
		if e := t.routes[key(host, path)]; e != nil {
			return e
		}
		if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
			if e := t.routes[key(host[:i], path)]; e != nil {
				return e
			}
		}
	}
	return t.routes[key("", path)]
}

// Get returns the entry of a page, or nil.
func (t *Table) Get(page types.NamespacedName) *Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.pages[page]
}

// Len is the number of pages in the table.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.pages)
}

// Put adds or replaces a page's entry.
func (t *Table) Put(e *Entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.pages[e.Page]; old != nil {
		t.removeLocked(old)
	}
	t.pages[e.Page] = e
	k := key(e.Host, e.Route)
	if cur := t.routes[k]; cur == nil || Wins(e, cur) {
		t.routes[k] = e
	}
}

// Delete removes a page's entry.
func (t *Table) Delete(page types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.pages[page]; old != nil {
		t.removeLocked(old)
	}
}

// removeLocked drops e and, if it held its route, hands the route to the
// next claimant.
func (t *Table) removeLocked(e *Entry) {
	delete(t.pages, e.Page)
	k := key(e.Host, e.Route)
	if t.routes[k] != e {
		return
	}
	delete(t.routes, k)
	for _, other := range t.pages {
		if other.Host == e.Host && other.Route == e.Route {
			if cur := t.routes[k]; cur == nil || Wins(other, cur) {
				t.routes[k] = other
			}
		}
	}
}

// Wins says whether a takes a route from b when both claim it: the older
// StaticPage wins, then the smaller namespace/name, so every replica agrees.
func Wins(a, b *Entry) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	return a.Page.String() < b.Page.String()
}

// NormalizeHost lowercases a Host header and drops the trailing dots of its
// name, so that every spelling of a host finds the page for it. Only ASCII
// letters are folded: host names are ASCII, and Unicode folding would let
// a name such as "\u212Aey.example" (Kelvin sign) reach the page of
// "key.example". It is idempotent, so a normalised host stays put.
func NormalizeHost(host string) string {
	host = asciiLower(host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		return strings.TrimRight(host[:i], ".") + host[i:]
	}
	return strings.TrimRight(host, ".")
}

// asciiLower lowercases ASCII letters, allocating only when there is one.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// HostMatches reports whether a request for host reaches a page declared
// for pageHost, as Lookup routes it: any host for "", else the same host,
// with or without the request's port.
func HostMatches(pageHost, host string) bool {
	pageHost = NormalizeHost(pageHost)
	if pageHost == "" {
		return true
	}
	host = NormalizeHost(host)
	if host == pageHost {
		return true
	}
	i := strings.LastIndexByte(host, ':')
	return i > 0 && !strings.HasSuffix(host, "]") && host[:i] == pageHost
}

// RoutePath is the route a URL path is served from: percent-encoding
// decoded exactly as net/http decodes a request target into r.URL.Path, which
// is what Lookup is given. It refuses what is not a request path (relative,
// with a query or fragment, with control characters, with a bad escape).
func RoutePath(escaped string) (string, error) {
	if !strings.HasPrefix(escaped, "/") {
		return "", errors.New("not an absolute path")
	}
	if strings.ContainsAny(escaped, "?#") {
		return "", errors.New("path holds a query or fragment")
	}
	u, err := url.ParseRequestURI(escaped)
	if err != nil {
		return "", err
	}
	return u.Path, nil
}

// RouteIndex answers which StaticPage a URL is routed to among pages that
// need not be rendered, with the host fallback and tie-breaking of Table, so
// that finding a page by URL agrees with serving it.
type RouteIndex struct{ t *Table }

// NewRouteIndex returns an empty index.
func NewRouteIndex() *RouteIndex { return &RouteIndex{t: NewTable()} }

// Add claims page's host and route.
func (x *RouteIndex) Add(page *pagesv1alpha1.StaticPage) {
	// Only the routing fields are set: the entry is never served.
	x.t.Put(&Entry{
		Page:    types.NamespacedName{Namespace: page.Namespace, Name: page.Name},
		Host:    NormalizeHost(page.Spec.Host),
		Route:   page.Spec.Route,
		Created: page.CreationTimestamp.Time,
	})
}

// Lookup names the page a request for host and path is routed to.
func (x *RouteIndex) Lookup(host, path string) (types.NamespacedName, bool) {
	if e := x.t.Lookup(host, path); e != nil {
		return e.Page, true
	}
	return types.NamespacedName{}, false
}
