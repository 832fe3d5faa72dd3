package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/storage"
)

// bodyCache bounds the bytes of page bodies a server holds (--cache-size),
// for sites larger than a server's memory. Which pages keep their bodies
// is decided by the CLOCK algorithm: a page served since the hand last
// passed keeps them one more round; the others go cold, keeping only what
// routing and revalidation need, and are loaded again on their next
// request. It is only used with an object store, which a cold page is
// loaded back from.
type bodyCache struct {
	budget int64

	mu    sync.Mutex
	used  int64
	sizes map[types.NamespacedName]int64
	ring  []types.NamespacedName
	index map[types.NamespacedName]int
	hand  int
}

func newBodyCache(budget int64) *bodyCache {
	return &bodyCache{budget: budget, sizes: map[types.NamespacedName]int64{}, index: map[types.NamespacedName]int{}}
}

// full is true when nothing more fits without evicting.
func (c *bodyCache) full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used >= c.budget
}

// set records page as holding size bytes; c.mu must be held.
func (c *bodyCache) set(page types.NamespacedName, size int64) {
	c.used += size - c.sizes[page]
	c.sizes[page] = size
	if _, ok := c.index[page]; !ok {
		c.index[page] = len(c.ring)
		c.ring = append(c.ring, page)
	}
}

// drop forgets page's bodies; c.mu must be held.
func (c *bodyCache) drop(page types.NamespacedName) {
	i, ok := c.index[page]
	if !ok {
		return
	}
	c.used -= c.sizes[page]
	delete(c.sizes, page)
	delete(c.index, page)
	last := len(c.ring) - 1
	if i != last {
		c.ring[i] = c.ring[last]
		c.index[c.ring[i]] = i
	}
	c.ring = c.ring[:last]
	if c.hand >= len(c.ring) {
		c.hand = 0
	}
}

// evict turns pages cold until the bodies fit the budget, never keep (the
// page just loaded, which a request is waiting for); c.mu must be held.
func (c *bodyCache) evict(t *Table, keep types.NamespacedName) {
	for steps := 2 * len(c.ring); c.used > c.budget && len(c.ring) > 1 && steps > 0; steps-- {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		page := c.ring[c.hand]
		cur := t.Get(page)
		switch {
		case page == keep:
			c.hand++
		case cur == nil || cur.cold:
			c.drop(page)
		case cur.referenced.Swap(false):
			c.hand++
		default:
			t.Put(cur.coldCopy())
			c.drop(page)
			evictionsTotal.Inc()
		}
	}
}

// coldCopy is e without its bodies: routing, headers and revalidation go on
// working, and the next request loads the bodies again.
func (e *Entry) coldCopy() *Entry {
	n := &Entry{
		Page: e.Page, Host: e.Host, Route: e.Route, created: e.created, digest: e.digest,
		renderedAt: e.renderedAt, Revalidate: e.Revalidate, onRequest: e.onRequest, Annotation: e.Annotation,
		cacheControl: e.cacheControl, request: e.request, cold: true,
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

// flight is one load of a page's bodies that every request for it waits on.
type flight struct {
	done chan struct{}
	e    *Entry
	err  error
}

// loadTimeout bounds one load of a cold page from the store.
const loadTimeout = 15 * time.Second

// Load returns e with its bodies, loading them from the store: one load per
// page however many requests wait for it. A requester that hangs up stops
// waiting, not the load.
func (s *RouteSync) Load(ctx context.Context, e *Entry) (*Entry, error) {
	key := e.Page.String() + "@" + e.Digest()
	s.flightMu.Lock()
	if s.flights == nil {
		s.flights = map[string]*flight{}
	}
	f, waiting := s.flights[key]
	if !waiting {
		f = &flight{done: make(chan struct{})}
		s.flights[key] = f
		go s.fly(key, e, f)
	}
	s.flightMu.Unlock()
	select {
	case <-f.done:
		return f.e, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fly loads e's page for f.
func (s *RouteSync) fly(key string, e *Entry, f *flight) {
	defer func() {
		s.flightMu.Lock()
		delete(s.flights, key)
		s.flightMu.Unlock()
		close(f.done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	coldLoadsTotal.Inc()
	s.loads.Add(1)
	page := &pagesv1alpha1.StaticPage{}
	if err := s.Client.Get(ctx, e.Page, page); err != nil {
		f.err = fmt.Errorf("reading StaticPage %s: %w", e.Page, err)
		return
	}
	obj, err := s.Store.Get(ctx, page, page.Status.Digest)
	if errors.Is(err, storage.ErrNotStored) {
		s.askPublish(ctx, page)
	}
	if err != nil {
		f.err = err
		return
	}
	full, err := NewEntry(page, obj, s.Policy)
	if err != nil {
		f.err = err
		return
	}
	s.put(full)
	f.e = full
}

// askPublish asks for a page whose content is gone from the object store
// to be published again, once per digest: no event would bring it back.
func (s *RouteSync) askPublish(ctx context.Context, page *pagesv1alpha1.StaticPage) {
	if !s.ObjectStore || s.Revalidator == nil {
		return
	}
	hex := digest.Hex(page.Status.Digest)
	token := "missing-" + hex[:min(16, len(hex))]
	if page.Annotations[pagesv1alpha1.RevalidateAnnotation] == token {
		return
	}
	name := types.NamespacedName{Namespace: page.Namespace, Name: page.Name}
	if err := s.Revalidator.Revalidate(ctx, name, token); err != nil {
		log.FromContext(ctx).Error(err, "asking for a page missing from the store to be published again", "page", name)
	}
}

// HeldBytes is what the bodies held take now, for checks against
// --cache-size; 0 when every page is held unbounded.
func (s *RouteSync) HeldBytes() int64 {
	if s.cache == nil {
		return 0
	}
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.cache.used
}

// Loads is how many times bodies were loaded on a request.
func (s *RouteSync) Loads() int64 { return s.loads.Load() }
