package route

import (
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Claim is a page's claim on a host and route.
type Claim struct {
	// Page names the StaticPage that claims the route.
	Page types.NamespacedName
	// Host is the page's host, "" for any host; Index stores it normalised.
	Host string
	// Route is the decoded path the page is served at.
	Route string
	// Created orders pages claiming one host and route: the oldest wins.
	Created time.Time
}

// Wins says whether a takes a route from b when both claim it: the older
// page wins, then the smaller "namespace/name", so every replica agrees.
func Wins(a, b Claim) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	return lessJoined(a.Page, b.Page)
}

// lessJoined reports whether a.String() < b.String() ("namespace/name")
// without building either string.
func lessJoined(a, b types.NamespacedName) bool {
	la, lb := len(a.Namespace)+1+len(a.Name), len(b.Namespace)+1+len(b.Name)
	for i := 0; i < la && i < lb; i++ {
		if ca, cb := joinedAt(a, i), joinedAt(b, i); ca != cb {
			return ca < cb
		}
	}
	return la < lb
}

// joinedAt is byte i of n.String().
func joinedAt(n types.NamespacedName, i int) byte {
	switch {
	case i < len(n.Namespace):
		return n.Namespace[i]
	case i == len(n.Namespace):
		return types.Separator
	}
	return n.Name[i-len(n.Namespace)-1]
}

// routeKey is where claims sit in the index.
type routeKey struct{ host, route string }

// claimed is one page's claim and value.
type claimed[T any] struct {
	c Claim
	v T
}

// Index maps host and route to the page that wins them, with a value of
// type T per page. It is safe for concurrent use; lookups take a shared
// lock only and do not allocate for a lowercase host. The zero value is not
// usable: use NewIndex.
type Index[T any] struct {
	mu sync.RWMutex
	// pages holds every page's claim.
	pages map[types.NamespacedName]*claimed[T]
	// routes holds the claimants of each key, the winner first.
	routes map[routeKey][]*claimed[T]
}

// NewIndex returns an empty index.
func NewIndex[T any]() *Index[T] {
	return &Index[T]{
		pages:  map[types.NamespacedName]*claimed[T]{},
		routes: map[routeKey][]*claimed[T]{},
	}
}

// Put adds a page's claim with its value, or replaces the page's claim and
// value.
func (x *Index[T]) Put(c Claim, v T) {
	c.Host = NormalizeHost(c.Host)
	e := &claimed[T]{c: c, v: v}
	x.mu.Lock()
	defer x.mu.Unlock()
	if old := x.pages[c.Page]; old != nil {
		x.removeLocked(old)
	}
	x.pages[c.Page] = e
	k := routeKey{c.Host, c.Route}
	cs := x.routes[k]
	i, _ := slices.BinarySearchFunc(cs, e, func(a, b *claimed[T]) int {
		if Wins(a.c, b.c) {
			return -1
		}
		return 1
	})
	x.routes[k] = slices.Insert(cs, i, e)
}

// Delete removes a page's claim; the next claimant takes its route.
func (x *Index[T]) Delete(page types.NamespacedName) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old := x.pages[page]; old != nil {
		x.removeLocked(old)
	}
}

// removeLocked drops e from its page and its key.
func (x *Index[T]) removeLocked(e *claimed[T]) {
	delete(x.pages, e.c.Page)
	k := routeKey{e.c.Host, e.c.Route}
	cs := slices.DeleteFunc(x.routes[k], func(o *claimed[T]) bool { return o == e })
	if len(cs) == 0 {
		delete(x.routes, k)
		return
	}
	x.routes[k] = cs
}

// Get returns a page's value.
func (x *Index[T]) Get(page types.NamespacedName) (T, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if e := x.pages[page]; e != nil {
		return e.v, true
	}
	var zero T
	return zero, false
}

// Lookup returns the value of the page a request for host and path (a
// decoded route) is served from: the page for that host, else for the host
// without its port, else for any host.
func (x *Index[T]) Lookup(host, path string) (T, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if e := x.lookupLocked(host, path); e != nil {
		return e.v, true
	}
	var zero T
	return zero, false
}

// Owner names the page a request for host and path is served from.
func (x *Index[T]) Owner(host, path string) (types.NamespacedName, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if e := x.lookupLocked(host, path); e != nil {
		return e.c.Page, true
	}
	return types.NamespacedName{}, false
}

// lookupLocked finds the winning claim for a request.
func (x *Index[T]) lookupLocked(host, path string) *claimed[T] {
	host = NormalizeHost(host)
	if host != "" {
		if cs := x.routes[routeKey{host, path}]; len(cs) > 0 {
			return cs[0]
		}
		if name, ok := withoutPort(host); ok {
			if cs := x.routes[routeKey{name, path}]; len(cs) > 0 {
				return cs[0]
			}
		}
	}
	if cs := x.routes[routeKey{"", path}]; len(cs) > 0 {
		return cs[0]
	}
	return nil
}

// Len is the number of pages in the index.
func (x *Index[T]) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.pages)
}
