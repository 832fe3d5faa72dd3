package server

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/isr-operator/isr-operator/internal/route"
)

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

// PageName names the page a request for host and path is answered with.
func (t *Table) PageName(host, path string) (types.NamespacedName, bool) {
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
