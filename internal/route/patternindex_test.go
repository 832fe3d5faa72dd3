package route

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPatternWins(t *testing.T) {
	claim := func(pattern, name string, age time.Duration) PatternClaim {
		return PatternClaim{Set: nn("ns", name), Pattern: mustPattern(t, pattern), Created: t0.Add(age)}
	}
	for _, tc := range []struct {
		name string
		a, b PatternClaim
		want bool
	}{
		{"more literals first", claim("/products/{id}", "z", time.Hour), claim("/{kind}/{id}", "a", 0), true},
		{"fewer literals later", claim("/{kind}/{id}", "a", 0), claim("/products/{id}", "z", time.Hour), false},
		{"literals count before a rest", claim("/docs/{p...}", "z", time.Hour), claim("/{a}/{b}", "a", 0), true},
		{"no rest before rest", claim("/docs/{id}", "z", time.Hour), claim("/docs/{p...}", "a", 0), true},
		{"rest after no rest", claim("/docs/{p...}", "a", 0), claim("/docs/{id}", "z", time.Hour), false},
		{"then the older set", claim("/p/{id}", "z", 0), claim("/p/{slug}", "a", time.Second), true},
		{"the newer set later", claim("/p/{slug}", "a", time.Second), claim("/p/{id}", "z", 0), false},
		{"then the smaller name", claim("/p/{id}", "a", 0), claim("/p/{slug}", "b", 0), true},
		{"itself", claim("/p/{id}", "a", 0), claim("/p/{id}", "a", 0), false},
	} {
		if got := PatternWins(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: PatternWins = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPatternIndexMatch(t *testing.T) {
	x := NewPatternIndex[string]()
	put := func(name, host, pattern string, age time.Duration) {
		x.Put(PatternClaim{Set: nn("ns", name), Host: host, Pattern: mustPattern(t, pattern), Created: t0.Add(age)}, name)
	}
	put("any-products", "", "/products/{id}", 0)
	put("any-kinds", "", "/{kind}/{id}", 0)
	put("any-docs", "", "/docs/{path...}", 0)
	put("any-docs-page", "", "/docs/{page}", time.Hour)
	put("shop-all", "Shop.Example.com.", "/{kind}/{id}", time.Hour)
	put("shop8080", "shop.example.com:8080", "/{kind}/{id}", time.Hour)
	put("old", "", "/old/{id}", 0)
	put("new", "", "/old/{slug}", time.Second)

	for _, tc := range []struct {
		name, host, path, want string
		params                 map[string]string
	}{
		{"literal segment wins", "other.example", "/products/42", "any-products", map[string]string{"id": "42"}},
		{"falls back to fewer literals", "other.example", "/things/42", "any-kinds", map[string]string{"kind": "things", "id": "42"}},
		{"no rest before rest", "", "/docs/intro", "any-docs-page", map[string]string{"page": "intro"}},
		{"rest takes many segments", "", "/docs/a/b/c", "any-docs", map[string]string{"path": "a/b/c"}},
		{"host first, even less specific", "shop.example.com", "/products/42", "shop-all", map[string]string{"kind": "products", "id": "42"}},
		{"host spelled otherwise", "SHOP.example.com.", "/products/42", "shop-all", map[string]string{"kind": "products", "id": "42"}},
		{"host without its port", "shop.example.com:443", "/products/42", "shop-all", map[string]string{"kind": "products", "id": "42"}},
		{"host with its port", "shop.example.com:8080", "/products/42", "shop8080", map[string]string{"kind": "products", "id": "42"}},
		{"host's sets do not match: any host", "shop.example.com", "/docs/a/b", "any-docs", map[string]string{"path": "a/b"}},
		{"older set of one shape", "", "/old/1", "old", map[string]string{"id": "1"}},
		{"decoded values", "", "/products/caf%C3%A9", "any-products", map[string]string{"id": "café"}},
		{"no set", "", "/a/b/c", "", nil},
		{"root", "", "/", "", nil},
		{"dot-dot", "", "/products/..", "", nil},
		{"encoded dot-dot", "", "/products/%2e%2e", "", nil},
		{"encoded slash", "", "/products/a%2Fb", "", nil},
		{"NUL", "", "/products/a%00b", "", nil},
		{"empty segment", "", "/products//x", "", nil},
	} {
		got, params, ok := x.Match(tc.host, tc.path)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: Match(%q, %q) = %q, %v; want %q", tc.name, tc.host, tc.path, got, ok, tc.want)
			continue
		}
		if len(params) != len(tc.params) {
			t.Errorf("%s: params = %v, want %v", tc.name, params, tc.params)
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("%s: params = %v, want %v", tc.name, params, tc.params)
			}
		}
	}
	if x.Len() != 8 {
		t.Errorf("Len = %d, want 8", x.Len())
	}
}

func TestPatternIndexReplaceAndDelete(t *testing.T) {
	x := NewPatternIndex[int]()
	a, b := nn("ns", "a"), nn("ns", "b")
	x.Put(PatternClaim{Set: a, Pattern: mustPattern(t, "/p/{id}"), Created: t0}, 1)
	x.Put(PatternClaim{Set: b, Pattern: mustPattern(t, "/p/{slug}"), Created: t0.Add(time.Second)}, 2)
	if v, _, _ := x.Match("", "/p/1"); v != 1 {
		t.Fatalf("the older set serves: got %d", v)
	}
	// A set that changes its pattern moves: its old claim goes.
	x.Put(PatternClaim{Set: a, Pattern: mustPattern(t, "/q/{id}"), Created: t0}, 3)
	if v, _, _ := x.Match("", "/p/1"); v != 2 {
		t.Errorf("after a's move, /p/1 = %d, want 2", v)
	}
	if v, _, _ := x.Match("", "/q/1"); v != 3 {
		t.Errorf("/q/1 = %d, want 3", v)
	}
	// A set that changes host moves too.
	x.Put(PatternClaim{Set: b, Host: "h.example", Pattern: mustPattern(t, "/p/{slug}"), Created: t0}, 4)
	if _, _, ok := x.Match("other.example", "/p/1"); ok {
		t.Error("b still serves any host")
	}
	if v, _, _ := x.Match("h.example", "/p/1"); v != 4 {
		t.Errorf("h.example /p/1 = %d, want 4", v)
	}
	if v, ok := x.Get(b); !ok || v != 4 {
		t.Errorf("Get(b) = %d, %v", v, ok)
	}
	x.Delete(a)
	x.Delete(b)
	x.Delete(b)
	if _, _, ok := x.Match("h.example", "/p/1"); ok || x.Len() != 0 {
		t.Errorf("sets left after Delete: %d", x.Len())
	}
	if _, ok := x.Get(a); ok {
		t.Error("Get after Delete")
	}
}

// TestPatternIndexDecodesOnce checks and decodes a request path once,
// however many sets' patterns look at it: a lookup that matches none of
// many sets costs what it costs with one.
func TestPatternIndexDecodesOnce(t *testing.T) {
	const path = "/caf%C3%A9/%C3%A9t%C3%A9/42"
	if _, ok := ParseRequestPath(path); !ok {
		t.Fatalf("%s is refused before any set looks at it", path)
	}
	allocs := func(sets int) float64 {
		x := NewPatternIndex[int]()
		for i := range sets {
			x.Put(PatternClaim{Set: nn("ns", fmt.Sprint("s", i)), Pattern: mustPattern(t, fmt.Sprintf("/p%d/{a}/{id}", i)), Created: t0}, i)
		}
		return testing.AllocsPerRun(100, func() {
			if _, _, ok := x.Match("h.example", path); ok {
				t.Fatal("a set matched")
			}
		})
	}
	if one, many := allocs(1), allocs(50); many != one {
		t.Errorf("a lookup through 50 sets allocates %v times, through 1 set %v: the path is decoded per set", many, one)
	}
}

// TestPatternIndexRefusesLongPaths refuses a path over the longest route
// before any pattern looks at it, and before decoding it when it is longer
// than any route's escaped form.
func TestPatternIndexRefusesLongPaths(t *testing.T) {
	x := NewPatternIndex[int]()
	x.Put(PatternClaim{Set: nn("ns", "all"), Pattern: mustPattern(t, "/{first}/{rest...}"), Created: t0}, 1)
	within := "/a/" + strings.Repeat("b", 200)
	if _, _, ok := x.Match("", within); !ok {
		t.Fatalf("%d bytes: not matched", len(within))
	}
	long := "/a/" + strings.Repeat("b/", MaxRouteLength/2)
	if _, ok := ParseRequestPath(long); ok {
		t.Errorf("a path of %d characters, over MaxRouteLength, was accepted", len(long))
	}
	huge := "/" + strings.Repeat("%41", MaxRouteLength*4+1)
	if n := testing.AllocsPerRun(10, func() {
		if _, _, ok := x.Match("", huge); ok {
			t.Fatal("matched")
		}
	}); n != 0 {
		t.Errorf("a path of %d bytes, longer than any route's escaped form, allocated %v times: it was decoded", len(huge), n)
	}
}
