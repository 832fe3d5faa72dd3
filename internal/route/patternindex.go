package route

import (
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// PatternClaim is a StaticPageSet's claim on the paths its pattern matches
// on a host.
type PatternClaim struct {
	// Set names the StaticPageSet.
	Set types.NamespacedName
	// Host is the set's host, "" for any host; PatternIndex stores it
	// normalised.
	Host string
	// Pattern is the set's parsed route pattern.
	Pattern *Pattern
	// Created is when the set claimed its host and pattern (its
	// status.claim): it orders sets whose patterns are equally specific,
	// the earliest wins.
	Created time.Time
}

// Literals is the number of literal segments of the pattern.
func (p *Pattern) Literals() int {
	n := 0
	for _, s := range p.segs {
		if !s.param {
			n++
		}
	}
	return n
}

// HasRest reports whether the pattern ends with a {rest...} parameter.
func (p *Pattern) HasRest() bool { return p.rest != "" }

// PatternWins says whether a is tried before b when both could match a
// path on one host: the pattern with more literal segments first, then one
// without a {rest...} parameter, then the older set, then the smaller
// "namespace/name", so that every replica picks the same set.
func PatternWins(a, b PatternClaim) bool {
	if la, lb := a.Pattern.Literals(), b.Pattern.Literals(); la != lb {
		return la > lb
	}
	if ra, rb := a.Pattern.HasRest(), b.Pattern.HasRest(); ra != rb {
		return !ra
	}
	return Wins(Claim{Page: a.Set, Created: a.Created}, Claim{Page: b.Set, Created: b.Created})
}

// patternClaimed is one set's claim and value.
type patternClaimed[T any] struct {
	c PatternClaim
	v T
}

// PatternIndex maps a host and an escaped request path to the
// StaticPageSet whose pattern serves it, with a value of type T per set.
// A host's own sets are tried before the sets for any host, as Index
// routes pages; within one host, by PatternWins. It is safe for concurrent
// use. The zero value is not usable: use NewPatternIndex.
type PatternIndex[T any] struct {
	mu sync.RWMutex
	// sets holds every set's claim.
	sets map[types.NamespacedName]*patternClaimed[T]
	// hosts holds the claims of each host, in the order they are tried.
	hosts map[string][]*patternClaimed[T]
}

// NewPatternIndex returns an empty index.
func NewPatternIndex[T any]() *PatternIndex[T] {
	return &PatternIndex[T]{
		sets:  map[types.NamespacedName]*patternClaimed[T]{},
		hosts: map[string][]*patternClaimed[T]{},
	}
}

// Put adds a set's claim with its value, or replaces the set's claim and
// value.
func (x *PatternIndex[T]) Put(c PatternClaim, v T) {
	c.Host = NormalizeHost(c.Host)
	e := &patternClaimed[T]{c: c, v: v}
	x.mu.Lock()
	defer x.mu.Unlock()
	if old := x.sets[c.Set]; old != nil {
		x.removeLocked(old)
	}
	x.sets[c.Set] = e
	cs := x.hosts[c.Host]
	i, _ := slices.BinarySearchFunc(cs, e, func(a, b *patternClaimed[T]) int {
		if PatternWins(a.c, b.c) {
			return -1
		}
		return 1
	})
	x.hosts[c.Host] = slices.Insert(cs, i, e)
}

// Delete removes a set's claim.
func (x *PatternIndex[T]) Delete(set types.NamespacedName) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old := x.sets[set]; old != nil {
		x.removeLocked(old)
	}
}

// removeLocked drops e from its set and its host.
func (x *PatternIndex[T]) removeLocked(e *patternClaimed[T]) {
	delete(x.sets, e.c.Set)
	cs := slices.DeleteFunc(x.hosts[e.c.Host], func(o *patternClaimed[T]) bool { return o == e })
	if len(cs) == 0 {
		delete(x.hosts, e.c.Host)
		return
	}
	x.hosts[e.c.Host] = cs
}

// Get returns a set's value.
func (x *PatternIndex[T]) Get(set types.NamespacedName) (T, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if e := x.sets[set]; e != nil {
		return e.v, true
	}
	var zero T
	return zero, false
}

// Len is the number of sets in the index.
func (x *PatternIndex[T]) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.sets)
}

// Match finds the set that serves a request for host and escapedPath
// (r.URL.EscapedPath()): among the sets for that host, then for the host
// without its port, then for any host, the first by PatternWins whose
// pattern matches. It returns the set's value and the parameters its
// pattern gives the path; a path Pattern.Match refuses ('..', an encoded
// slash, a control character...) matches no set. The path is checked
// (its length first) and decoded once, before any pattern looks at it.
func (x *PatternIndex[T]) Match(host, escapedPath string) (T, map[string]string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var zero T
	if len(x.sets) == 0 {
		return zero, nil, false
	}
	// Checked and decoded once, whatever many patterns look at it.
	rp, ok := ParseRequestPath(escapedPath)
	if !ok {
		return zero, nil, false
	}
	host = NormalizeHost(host)
	try := func(h string) (*patternClaimed[T], map[string]string) {
		for _, e := range x.hosts[h] {
			if params, ok := e.c.Pattern.MatchParsed(rp); ok {
				return e, params
			}
		}
		return nil, nil
	}
	if host != "" {
		if e, params := try(host); e != nil {
			return e.v, params, true
		}
		if name, ok := withoutPort(host); ok {
			if e, params := try(name); e != nil {
				return e.v, params, true
			}
		}
	}
	if e, params := try(""); e != nil {
		return e.v, params, true
	}
	return zero, nil, false
}
