package route

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

var t0 = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

func nn(ns, name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }

// val is what the tests' indexes hold: a claim and a label.
type val struct {
	c     Claim
	label string
}

func (v *val) RouteClaim() Claim { return v.c }

// put files a value labelled label for c.
func put(x *Index[*val], c Claim, label any) { x.Put(&val{c: c, label: fmt.Sprint(label)}) }

// labelOf is v's label, "" for none.
func labelOf(v *val) string {
	if v == nil {
		return ""
	}
	return v.label
}

func TestWins(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Claim
		want bool
	}{
		{"older wins", Claim{Page: nn("b", "b"), Created: t0}, Claim{Page: nn("a", "a"), Created: t0.Add(time.Second)}, true},
		{"newer loses", Claim{Page: nn("a", "a"), Created: t0.Add(time.Second)}, Claim{Page: nn("b", "b"), Created: t0}, false},
		{"same age, smaller name", Claim{Page: nn("ns", "a"), Created: t0}, Claim{Page: nn("ns", "b"), Created: t0}, true},
		{"same age, larger name", Claim{Page: nn("ns", "b"), Created: t0}, Claim{Page: nn("ns", "a"), Created: t0}, false},
		{"same age, smaller namespace", Claim{Page: nn("a", "z"), Created: t0}, Claim{Page: nn("b", "a"), Created: t0}, true},
		// Compared as "namespace/name": '-' sorts before '/'.
		{"joined string order", Claim{Page: nn("a-b", "c"), Created: t0}, Claim{Page: nn("a", "z"), Created: t0}, true},
		{"joined string order reversed", Claim{Page: nn("a", "z"), Created: t0}, Claim{Page: nn("a-b", "c"), Created: t0}, false},
		{"prefix name", Claim{Page: nn("ns", "a"), Created: t0}, Claim{Page: nn("ns", "ab"), Created: t0}, true},
		{"prefix name, longer first", Claim{Page: nn("ns", "ab"), Created: t0}, Claim{Page: nn("ns", "a"), Created: t0}, false},
		{"itself", Claim{Page: nn("ns", "a"), Created: t0}, Claim{Page: nn("ns", "a"), Created: t0}, false},
		{"same instant, other zone", Claim{Page: nn("ns", "b"), Created: t0.In(time.FixedZone("x", 3600))}, Claim{Page: nn("ns", "a"), Created: t0}, false},
	} {
		if got := Wins(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Wins = %v, want %v", tc.name, got, tc.want)
		}
		if got, ref := lessJoined(tc.a.Page, tc.b.Page), tc.a.Page.String() < tc.b.Page.String(); got != ref {
			t.Errorf("%s: lessJoined = %v, String order %v", tc.name, got, ref)
		}
	}
}

func TestIndexLookup(t *testing.T) {
	x := NewIndex[*val]()
	put(x, Claim{Page: nn("ns", "any"), Route: "/p", Created: t0}, "any")
	put(x, Claim{Page: nn("ns", "shop"), Host: "Shop.Example.com.", Route: "/p", Created: t0}, "shop")
	put(x, Claim{Page: nn("ns", "shop8080"), Host: "shop.example.com:8080", Route: "/p", Created: t0}, "shop8080")
	put(x, Claim{Page: nn("ns", "v6"), Host: "[::1]", Route: "/p", Created: t0}, "v6")
	for _, tc := range []struct {
		host, path, want string
		ok               bool
	}{
		{"shop.example.com", "/p", "shop", true},
		{"SHOP.example.com.", "/p", "shop", true},
		{"shop.example.com:443", "/p", "shop", true},
		{"shop.example.com:8080", "/p", "shop8080", true},
		{"other.example.com", "/p", "any", true},
		{"other.example.com:443", "/p", "any", true}, // no page for the name without the port either
		{"", "/p", "any", true},
		{"[::1]:80", "/p", "v6", true},
		{"[::1]", "/p", "v6", true},
		{"shop.example.com", "/q", "", false},
		{"shop.example.com", "/P", "", false},
	} {
		v, ok := x.Lookup(tc.host, tc.path)
		if got := labelOf(v); got != tc.want || ok != tc.ok {
			t.Errorf("Lookup(%q, %q) = %q, %v; want %q, %v", tc.host, tc.path, labelOf(v), ok, tc.want, tc.ok)
		}
		owner, ok := x.Owner(tc.host, tc.path)
		if ok != tc.ok || ok && owner != nn("ns", tc.want) {
			t.Errorf("Owner(%q, %q) = %v, %v", tc.host, tc.path, owner, ok)
		}
	}
	if x.Len() != 4 {
		t.Errorf("Len = %d, want 4", x.Len())
	}
}

func TestIndexSuccession(t *testing.T) {
	x := NewIndex[*val]()
	// Claimants of one route in no particular order; the oldest wins.
	ages := []int{3, 1, 4, 0, 2}
	for _, age := range ages {
		put(x, Claim{Page: nn("ns", fmt.Sprint(age)), Host: "h", Route: "/r", Created: t0.Add(time.Duration(age) * time.Hour)}, age)
	}
	// A page on another route is unaffected.
	put(x, Claim{Page: nn("ns", "other"), Host: "h", Route: "/other", Created: t0}, 99)
	for want := range 5 {
		v, ok := x.Lookup("h", "/r")
		if !ok || labelOf(v) != fmt.Sprint(want) {
			t.Fatalf("winner = %q, %v; want %d", labelOf(v), ok, want)
		}
		x.Delete(nn("ns", fmt.Sprint(want)))
		if _, ok := x.Get(nn("ns", fmt.Sprint(want))); ok {
			t.Fatalf("page %d still in the index", want)
		}
	}
	if _, ok := x.Lookup("h", "/r"); ok {
		t.Fatal("route still routed after every claimant left")
	}
	if len(x.routes) != 1 || x.Len() != 1 {
		t.Fatalf("index holds %d keys and %d pages, want 1 and 1", len(x.routes), x.Len())
	}
	x.Delete(nn("ns", "absent")) // no-op
}

func TestIndexPutReplaces(t *testing.T) {
	x := NewIndex[*val]()
	old := Claim{Page: nn("ns", "old"), Route: "/a", Created: t0}
	young := Claim{Page: nn("ns", "young"), Route: "/a", Created: t0.Add(time.Hour)}
	put(x, old, "old@a")
	put(x, young, "young@a")
	if got, _ := x.Lookup("h", "/a"); labelOf(got) != "old@a" {
		t.Fatalf("winner = %q", labelOf(got))
	}
	// Moving the old page elsewhere hands /a to the young one.
	old.Route = "/b"
	put(x, old, "old@b")
	if got, _ := x.Lookup("h", "/a"); labelOf(got) != "young@a" {
		t.Fatalf("after move, /a = %q", labelOf(got))
	}
	if got, _ := x.Lookup("h", "/b"); labelOf(got) != "old@b" {
		t.Fatalf("after move, /b = %q", labelOf(got))
	}
	// A new value for the same claim replaces the value.
	put(x, young, "young@a v2")
	if got, ok := x.Get(young.Page); !ok || labelOf(got) != "young@a v2" {
		t.Fatalf("Get = %q, %v", labelOf(got), ok)
	}
	if got, _ := x.Lookup("h", "/a"); labelOf(got) != "young@a v2" {
		t.Fatalf("after replace, /a = %q", labelOf(got))
	}
	if x.Len() != 2 {
		t.Fatalf("Len = %d", x.Len())
	}
	if _, ok := x.Get(nn("ns", "none")); ok {
		t.Fatal("Get of an absent page")
	}
}

func TestIndexLookupDoesNotAllocate(t *testing.T) {
	x := NewIndex[*val]()
	v := "v"
	put(x, Claim{Page: nn("ns", "a"), Host: "shop.example.com", Route: "/products/42", Created: t0}, v)
	put(x, Claim{Page: nn("ns", "b"), Route: "/any", Created: t0}, v)
	for _, tc := range []struct{ host, path string }{
		{"shop.example.com", "/products/42"},
		{"shop.example.com:8443", "/products/42"},
		{"shop.example.com", "/any"},
		{"", "/missing/" + string(make([]byte, 100))},
	} {
		if n := testing.AllocsPerRun(100, func() { x.Lookup(tc.host, tc.path) }); n != 0 {
			t.Errorf("Lookup(%q, %q) allocates %v times", tc.host, tc.path, n)
		}
		if n := testing.AllocsPerRun(100, func() { x.Owner(tc.host, tc.path) }); n != 0 {
			t.Errorf("Owner(%q, %q) allocates %v times", tc.host, tc.path, n)
		}
	}
}

func TestIndexConcurrent(t *testing.T) {
	x := NewIndex[*val]()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				page := nn("ns", fmt.Sprint(w, "-", i%10))
				put(x, Claim{Page: page, Route: fmt.Sprint("/", i%7), Created: t0}, i)
				x.Lookup("h", fmt.Sprint("/", i%7))
				if i%3 == 0 {
					x.Delete(page)
				}
			}
		})
	}
	wg.Wait()
	// Every remaining page is still reachable through its key.
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := 0
	for k, cs := range x.routes {
		n += len(cs)
		for i, c := range cs {
			if keyOf(c.c) != k || x.pages[c.c.Page] != c {
				t.Fatalf("claim %+v misfiled under %+v", c.c, k)
			}
			if i > 0 && Wins(c.c, cs[i-1].c) {
				t.Fatalf("claimants of %+v out of order", k)
			}
		}
	}
	if n != len(x.pages) {
		t.Fatalf("%d claims under keys, %d pages", n, len(x.pages))
	}
}

// BenchmarkIndexLookup measures the serving hot path: a host-specific hit,
// a hit through the port fallback, and a hit on an any-host page.
func BenchmarkIndexLookup(b *testing.B) {
	x := NewIndex[*val]()
	for i := range 10000 {
		host := ""
		if i%2 == 0 {
			host = "shop.example.com"
		}
		put(x, Claim{Page: nn("ns", fmt.Sprint(i)), Host: host, Route: fmt.Sprint("/products/", i), Created: t0}, i)
	}
	for _, bc := range []struct{ name, host, path string }{
		{"host", "shop.example.com", "/products/42"},
		{"port", "shop.example.com:8443", "/products/42"},
		{"anyhost", "shop.example.com", "/products/43"},
		{"miss", "shop.example.com", "/missing"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				x.Lookup(bc.host, bc.path)
			}
		})
	}
}
