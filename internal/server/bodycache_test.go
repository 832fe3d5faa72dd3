package server

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// TestBodyCacheClock checks the budget and the CLOCK rule: pages served
// since the hand passed keep their bodies, the others go cold first, and
// the page just loaded is never the one dropped.
func TestBodyCacheClock(t *testing.T) {
	table := NewTable()
	sync := &RouteSync{Table: table, Policy: policy, cache: newBodyCache(3 * 1000)}
	body := string(make([]byte, 1000))
	add := func(name string) *Entry {
		p, obj := testPage(name, "", "/"+name, body, 0, pagesv1alpha1.RevalidateInterval)
		obj.Gzip = nil // identity only: 1000 bytes each, whatever compression would do
		obj.Identity = []byte(body)
		obj.Brotli = nil
		e, err := NewEntry(p, obj, policy)
		if err != nil {
			t.Fatal(err)
		}
		sync.put(e)
		return e
	}
	name := func(n string) types.NamespacedName { return types.NamespacedName{Namespace: "default", Name: n} }
	for _, n := range []string{"a", "b", "c"} {
		add(n)
	}
	if got := sync.HeldBytes(); got != 3000 {
		t.Fatalf("held %d bytes, want 3000", got)
	}
	// a is served; b and c are not.
	table.Get(name("a")).referenced.Store(true)
	add("d")
	if got := sync.HeldBytes(); got > 3000 {
		t.Fatalf("held %d bytes over the 3000 budget", got)
	}
	if table.Get(name("a")).cold {
		t.Error("a page served since the hand passed went cold first")
	}
	if table.Get(name("d")).cold {
		t.Error("the page just loaded was dropped")
	}
	cold := 0
	for _, n := range []string{"b", "c"} {
		if e := table.Get(name(n)); e.cold {
			cold++
			if e.Digest() == "" || e.Route != "/"+n {
				t.Errorf("cold %s lost what routing needs: %+v", n, e)
			}
		}
	}
	if cold != 1 {
		t.Errorf("%d of the unserved pages went cold, want 1", cold)
	}
	sync.remove(name("d"))
	if got := sync.HeldBytes(); got != 2000 {
		t.Errorf("after removing d, held %d bytes, want 2000", got)
	}
}
