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
	// Host is the page's host, "" for any host; Index files it normalised.
	Host string
	// Route is the decoded path the page is served at.
	Route string
	// Created is when the page claimed its host and route (its
	// status.claim, its creation time before one is recorded): it orders
	// pages claiming one host and route, the earliest wins.
	Created time.Time
}

// Wins says whether a takes a route from b when both claim it: the earlier
// claim wins, then the smaller "namespace/name", so every replica agrees.
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

// Claimant is what an Index holds for a page: a value that knows its
// page's claim, so that the index keeps no copy of it (a server holds one
// per page). Its claim must not change while it is in the index.
type Claimant interface {
	comparable
	// RouteClaim is the page's claim on a host and route.
	RouteClaim() Claim
}

// RouteClaim makes a claim its own Claimant, for an index of claims only.
func (c *Claim) RouteClaim() Claim { return *c }

// Index maps host and route to the page that wins them, with a value of
// type T per page. It is safe for concurrent use; lookups take a shared
// lock only and do not allocate for a lowercase host. The zero value is not
// usable: use NewIndex.
type Index[T Claimant] struct {
	mu sync.RWMutex
	// pages holds every page's value.
	pages map[types.NamespacedName]T
	// routes holds the claimants of each key, the winner first.
	routes map[routeKey][]T
}

// NewIndex returns an empty index.
func NewIndex[T Claimant]() *Index[T] {
	return &Index[T]{
		pages:  map[types.NamespacedName]T{},
		routes: map[routeKey][]T{},
	}
}

// keyOf is where c sits in the index.
func keyOf(c Claim) routeKey { return routeKey{NormalizeHost(c.Host), c.Route} }

// Put adds a page's value, or replaces the page's value and claim.
func (x *Index[T]) Put(v T) {
	c := v.RouteClaim()
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.pages[c.Page]; ok {
		x.removeLocked(old)
	}
	x.pages[c.Page] = v
	k := keyOf(c)
	cs := x.routes[k]
	i, _ := slices.BinarySearchFunc(cs, c, func(a T, c Claim) int {
		if Wins(a.RouteClaim(), c) {
			return -1
		}
		return 1
	})
	x.routes[k] = slices.Insert(cs, i, v)
}

// Delete removes a page's claim; the next claimant takes its route.
func (x *Index[T]) Delete(page types.NamespacedName) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.pages[page]; ok {
		x.removeLocked(old)
	}
}

// removeLocked drops v from its page and its key.
func (x *Index[T]) removeLocked(v T) {
	c := v.RouteClaim()
	delete(x.pages, c.Page)
	k := keyOf(c)
	cs := slices.DeleteFunc(x.routes[k], func(o T) bool { return o == v })
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
	v, ok := x.pages[page]
	return v, ok
}

// Lookup returns the value of the page a request for host and path (a
// decoded route) is served from: the page for that host, else for the host
// without its port, else for any host.
func (x *Index[T]) Lookup(host, path string) (T, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.lookupLocked(host, path)
}

// Owner names the page a request for host and path is served from.
func (x *Index[T]) Owner(host, path string) (types.NamespacedName, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if v, ok := x.lookupLocked(host, path); ok {
		return v.RouteClaim().Page, true
	}
	return types.NamespacedName{}, false
}

// lookupLocked finds the winning claimant for a request.
func (x *Index[T]) lookupLocked(host, path string) (T, bool) {
	host = NormalizeHost(host)
	if host != "" {
		if cs := x.routes[routeKey{host, path}]; len(cs) > 0 {
			return cs[0], true
		}
		if name, ok := withoutPort(host); ok {
			if cs := x.routes[routeKey{name, path}]; len(cs) > 0 {
				return cs[0], true
			}
		}
	}
	if cs := x.routes[routeKey{"", path}]; len(cs) > 0 {
		return cs[0], true
	}
	var zero T
	return zero, false
}

// Len is the number of pages in the index.
func (x *Index[T]) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.pages)
}
