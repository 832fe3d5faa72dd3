package server

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// bodyCache bounds the bytes of page bodies a server holds (--cache-size),
// for sites larger than a server's memory. Which pages keep their bodies
// is decided by the CLOCK algorithm: a page served since the hand last
// passed keeps them one more round; the others go cold, keeping only what
// routing and revalidation need, and are loaded again on their next
// request, from its ConfigMap or object store, whichever holds the pages.
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
