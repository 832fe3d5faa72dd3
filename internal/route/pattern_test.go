package route

import (
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestParsePattern(t *testing.T) {
	for _, tc := range []struct {
		in    string
		names []string
		err   string // a part of the error, "" for none
	}{
		{"/products/{id}", []string{"id"}, ""},
		{"/{lang}/products/{id}", []string{"lang", "id"}, ""},
		{"/docs/{path...}", []string{"path"}, ""},
		{"/{a}/{b}/{rest...}", []string{"a", "b", "rest"}, ""},
		{"/products/{id}/", []string{"id"}, ""},
		{"/{_x9}", []string{"_x9"}, ""},
		{"/{Id}", []string{"Id"}, ""},
		{"/products", nil, "no parameter"},
		{"/", nil, "no parameter"},
		{"/{id}/{id}", nil, "appears twice"},
		{"/{id}/{id...}", nil, "appears twice"},
		{"/{rest...}/x", nil, "must be the last segment"},
		{"/{rest...}/", nil, "must be the last segment"},
		{"/p-{id}", nil, "whole segment"},
		{"/{id}.html", nil, "whole segment"},
		{"/{a}{b}", nil, "whole segment"},
		{"/{id", nil, "whole segment"},
		{"/id}", nil, "whole segment"},
		{"/{{id}}", nil, "whole segment"},
		{"/{}", nil, "parameter name"},
		{"/{...}", nil, "parameter name"},
		{"/{9id}", nil, "parameter name"},
		{"/{id-x}", nil, "parameter name"},
		{"/{é}", nil, "parameter name"},
		{"/{id..}", nil, "parameter name"},
		{"products/{id}", nil, "absolute path"},
		{"/products/{id}?x", nil, "query"},
		{"/../{id}", nil, "'.' or '..'"},
		{"//{id}", nil, "empty segments"},
		{"/{a b}", nil, "whitespace"},
		{"/%2e/{id}", nil, "percent-encoded"},
	} {
		p, err := ParsePattern(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePattern(%q) = %v, want an error about %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tc.in, err)
			continue
		}
		if p.String() != tc.in || !slices.Equal(p.Names(), tc.names) {
			t.Errorf("ParsePattern(%q) = %q with %q, want names %q", tc.in, p, p.Names(), tc.names)
		}
	}
	// Names is a copy.
	p := mustPattern(t, "/{a}/{b}")
	p.Names()[0] = "x"
	if p.Names()[0] != "a" {
		t.Error("Names shares the pattern's slice")
	}
}

func mustPattern(t testing.TB, s string) *Pattern {
	t.Helper()
	p, err := ParsePattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPatternMatch(t *testing.T) {
	long := strings.Repeat("a", MaxParamLength)
	restLong := strings.Repeat("a/", MaxParamLength/2-1) + "aa"
	for _, tc := range []struct {
		pattern, path string
		want          map[string]string // nil: no match
	}{
		{"/products/{id}", "/products/42", map[string]string{"id": "42"}},
		{"/products/{id}", "/products/caf%C3%A9", map[string]string{"id": "café"}},
		{"/products/{id}", "/products/caf%C3%A9", map[string]string{"id": "café"}},
		{"/products/{id}", "/%70roducts/42", map[string]string{"id": "42"}},
		{"/products/{id}", "/products/a+b", map[string]string{"id": "a+b"}},
		{"/products/{id}", "/products/100%25", map[string]string{"id": "100%"}},
		{"/products/{id}", "/products/" + long, map[string]string{"id": long}},
		{"/products/{id}", "/products/" + long + "a", nil},
		{"/products/{id}", "/products/42/", nil},
		{"/products/{id}", "/products/", nil},
		{"/products/{id}", "/products", nil},
		{"/products/{id}", "/products/42/x", nil},
		{"/products/{id}", "/other/42", nil},
		{"/products/{id}", "/Products/42", nil},
		{"/products/{id}", "/products/a%2Fb", nil},    // encoded slash
		{"/products/{id}", "/products/a%2fb", nil},    // encoded slash
		{"/products/{id}", "/products/..", nil},       // dot segment
		{"/products/{id}", "/products/%2e%2e", nil},   // encoded dot segment
		{"/products/{id}", "/products/%2E", nil},      // encoded dot segment
		{"/products/{id}", "/products/%00", nil},      // NUL
		{"/products/{id}", "/products/a%0Ab", nil},    // newline
		{"/products/{id}", "/products/a%20b", nil},    // space
		{"/products/{id}", "/products/a%7Fb", nil},    // DEL
		{"/products/{id}", "/products/a%C2%85b", nil}, // C1 control
		{"/products/{id}", "/products/a%3Fb", nil},    // '?' once decoded
		{"/products/{id}", "/products/a%23b", nil},    // '#' once decoded
		{"/products/{id}", "/products/100%2541", nil}, // decodes to an escape
		{"/products/{id}", "/products/%zz", nil},      // bad escape
		{"/products/{id}", "/products/%ff", nil},      // not UTF-8
		{"/products/{id}", "/products/42?x=1", nil},
		{"/products/{id}", "products/42", nil},
		{"/products/{id}", "", nil},
		{"/products/{id}/", "/products/42/", map[string]string{"id": "42"}},
		{"/products/{id}/", "/products/42", nil},
		{"/{lang}/p/{id}", "/en/p/7", map[string]string{"lang": "en", "id": "7"}},
		{"/docs/{path...}", "/docs/a", map[string]string{"path": "a"}},
		{"/docs/{path...}", "/docs/a/b%20c", nil},
		{"/docs/{path...}", "/docs/a/caf%C3%A9/c", map[string]string{"path": "a/café/c"}},
		{"/docs/{path...}", "/docs/", nil},
		{"/docs/{path...}", "/docs", nil},
		{"/docs/{path...}", "/docs/a/", nil},
		{"/docs/{path...}", "/docs/a//b", nil},
		{"/docs/{path...}", "/docs/a/../b", nil},
		{"/docs/{path...}", "/docs/a/%2e%2e/b", nil},
		{"/docs/{path...}", "/docs/a%2Fb", nil},
		{"/docs/{path...}", "/docs/" + strings.Repeat("a/", MaxParamLength/2) + "a", nil},
		{"/docs/{path...}", "/docs/" + restLong, map[string]string{"path": restLong}}, // exactly the limit
		{"/{a}/{rest...}", "/x/y/z", map[string]string{"a": "x", "rest": "y/z"}},
		{"/products/{id}", "/products/a%5Cb", nil}, // backslash
		{"/products/{id}", "/products/a%5cb", nil}, // backslash
		{"/products/{id}", `/products/a\b`, nil},   // backslash unescaped
		{"/docs/{path...}", "/docs/a/b%5C", nil},   // backslash in a rest segment
	} {
		p := mustPattern(t, tc.pattern)
		got, ok := p.Match(tc.path)
		if ok != (tc.want != nil) || !maps.Equal(got, tc.want) {
			t.Errorf("%q.Match(%.60q) = %q, %v; want %q", tc.pattern, tc.path, got, ok, tc.want)
		}
	}
}

// TestConstrain: a constrained parameter's whole decoded value must match
// its expression; unconstrained parameters are as before.
func TestConstrain(t *testing.T) {
	ids := map[string]string{"id": "[1-9][0-9]{0,9}"}
	slug := map[string]string{"slug": "[a-z0-9]+(-[a-z0-9]+)*"}
	for _, tc := range []struct {
		pattern string
		exprs   map[string]string
		path    string
		want    map[string]string // nil: no match
	}{
		{"/products/{id}", ids, "/products/42", map[string]string{"id": "42"}},
		{"/products/{id}", ids, "/products/042", nil},
		{"/products/{id}", ids, "/products/0042", nil},
		{"/products/{id}", ids, "/products/42a", nil},
		{"/products/{id}", ids, "/products/a42", nil},
		{"/products/{id}", ids, "/products/12345678901", nil},
		{"/products/{id}", ids, "/products/%34%32", map[string]string{"id": "42"}},
		{"/products/{id}", map[string]string{"id": "4|42"}, "/products/42", map[string]string{"id": "42"}}, // whole value: ^(?:4|42)$
		{"/products/{id}", map[string]string{"id": "4|42"}, "/products/421", nil},
		{"/blog/{slug}", slug, "/blog/hello-world", map[string]string{"slug": "hello-world"}},
		{"/blog/{slug}", slug, "/blog/Hello-World", nil},
		{"/blog/{slug}", slug, "/blog/hello--world", nil},
		{"/{lang}/p/{id}", ids, "/EN/p/7", map[string]string{"lang": "EN", "id": "7"}},
		{"/{lang}/p/{id}", map[string]string{"lang": "en|de", "id": "[0-9]+"}, "/fr/p/7", nil},
		{"/docs/{path...}", map[string]string{"path": "[a-z]+(/[a-z]+)*"}, "/docs/a/b", map[string]string{"path": "a/b"}},
		{"/docs/{path...}", map[string]string{"path": "[a-z]+"}, "/docs/a/b", nil},
		{"/products/{id}", nil, "/products/0042", map[string]string{"id": "0042"}},
	} {
		p, err := ParseConstrained(tc.pattern, tc.exprs)
		if err != nil {
			t.Fatalf("ParseConstrained(%q, %v): %v", tc.pattern, tc.exprs, err)
		}
		got, ok := p.Match(tc.path)
		if ok != (tc.want != nil) || !maps.Equal(got, tc.want) {
			t.Errorf("%q %v .Match(%q) = %q, %v; want %q", tc.pattern, tc.exprs, tc.path, got, ok, tc.want)
		}
	}
	// Routes (prerender and sitemap paths, children's spec.route) are held
	// to the same constraints.
	constrained, err := ParseConstrained("/products/{id}", ids)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := constrained.MatchRoute("/products/42"); !ok {
		t.Error("MatchRoute refused a route whose value matches")
	}
	if _, ok := constrained.MatchRoute("/products/0042"); ok {
		t.Error("MatchRoute accepted a route whose value does not match")
	}
	// The unconstrained pattern a constrained one was made from is unchanged.
	p := mustPattern(t, "/products/{id}")
	if _, err := p.Constrain(ids); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Match("/products/0042"); !ok {
		t.Error("Constrain changed the pattern it was called on")
	}
	for _, tc := range []struct {
		exprs map[string]string
		says  string
	}{
		{map[string]string{"sku": "[0-9]+"}, `"sku" is not a parameter`},
		{map[string]string{"id": "[0-9"}, "missing closing ]"},
		{map[string]string{"id": "(?P<x"}, "invalid named capture"},
		{map[string]string{"id": "a{1001}"}, "invalid repeat count"},
		{map[string]string{"id": `\p{Nope}`}, "invalid character class range"},
	} {
		if _, err := ParseConstrained("/products/{id}", tc.exprs); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseConstrained(%v) = %v, want an error saying %q", tc.exprs, err, tc.says)
		}
	}
}

func TestPatternPath(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		params  map[string]string
		want    string
		err     string
	}{
		{"/products/{id}", map[string]string{"id": "42"}, "/products/42", ""},
		{"/products/{id}", map[string]string{"id": "café"}, "/products/café", ""},
		{"/products/{id}/", map[string]string{"id": "42"}, "/products/42/", ""},
		{"/docs/{path...}", map[string]string{"path": "a/b/c"}, "/docs/a/b/c", ""},
		{"/{a}/{rest...}", map[string]string{"a": "x", "rest": "y"}, "/x/y", ""},
		{"/products/{id}", map[string]string{}, "", "has no value"},
		{"/products/{id}", map[string]string{"id": "1", "other": "2"}, "", "no parameter {other}"},
		{"/products/{id}", map[string]string{"id": ""}, "", "empty"},
		{"/products/{id}", map[string]string{"id": ".."}, "", "'..'"},
		{"/products/{id}", map[string]string{"id": "a/b"}, "", "'/'"},
		{"/products/{id}", map[string]string{"id": "a\x00"}, "", "control"},
		{"/products/{id}", map[string]string{"id": "\xff"}, "", "UTF-8"},
		{"/products/{id}", map[string]string{"id": strings.Repeat("a", MaxParamLength+1)}, "", "at most"},
		{"/products/{id}", map[string]string{"id": "a b"}, "", "whitespace"},
		{"/products/{id}", map[string]string{"id": "a?b"}, "", "query"},
		{"/products/{id}", map[string]string{"id": "%2e"}, "", "percent-encoded"},
		{"/docs/{path...}", map[string]string{"path": "a//b"}, "", "empty"},
		{"/docs/{path...}", map[string]string{"path": "a/../b"}, "", "'..'"},
		{"/docs/{path...}", map[string]string{"path": "a/"}, "", "empty"},
		{"/docs/{path...}", map[string]string{}, "", "has no value"},
	} {
		got, err := mustPattern(t, tc.pattern).Path(tc.params)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q.Path(%q) = %q, %v; want an error about %q", tc.pattern, tc.params, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q.Path(%q) = %q, %v; want %q", tc.pattern, tc.params, got, err, tc.want)
		}
	}
}

func TestPatternOverlaps(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"/products/{id}", "/products/{slug}", true},
		{"/products/{id}", "/products/{id}", true},
		{"/{a}/{b...}", "/{x}/{y...}", true},
		{"/products/{id}", "/items/{id}", false},
		{"/products/{id}", "/products/{id}/", false},
		{"/products/{id}", "/products/{id...}", false},
		{"/products/{id}", "/{cat}/{id}", false},
		{"/products/{id}", "/products/{id}/{x}", false},
		{"/docs/{p...}", "/docs/x/{p...}", false},
	} {
		a, b := mustPattern(t, tc.a), mustPattern(t, tc.b)
		if got := a.Overlaps(b); got != tc.want {
			t.Errorf("%q.Overlaps(%q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := b.Overlaps(a); got != tc.want {
			t.Errorf("%q.Overlaps(%q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestTemplateNames(t *testing.T) {
	for _, tc := range []struct {
		in    string
		names []string
		err   string
	}{
		{"http://shop.svc/products/{id}", []string{"id"}, ""},
		{"https://shop.svc:8443/{lang}/p/{id}?ref={id}", []string{"lang", "id"}, ""},
		{"http://docs.svc/{path...}", []string{"path"}, ""},
		{"http://shop.svc/static", nil, ""},
		{"http://shop.svc", nil, ""},
		{"http://{tenant}.shop.svc/p", nil, "never in the scheme or host"},
		{"http://shop.svc:{port}/p", nil, "never in the scheme or host"},
		{"{scheme}://shop.svc/p", nil, "never in the scheme or host"},
		{"/products/{id}", nil, "absolute URL"},
		{"://shop.svc/{id}", nil, "absolute URL"}, // no scheme
		{"http://shop.svc/{id", nil, "'{' without '}'"},
		{"http://shop.svc/id}", nil, "'}' without '{'"},
		{"http://shop.svc/{{id}}", nil, "inside a parameter"},
		{"http://shop.svc/{9}", nil, "parameter name"},
		{"http://shop.svc/{}", nil, "parameter name"},
	} {
		got, err := TemplateNames(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("TemplateNames(%q) = %q, %v; want an error about %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.names) {
			t.Errorf("TemplateNames(%q) = %q, %v; want %q", tc.in, got, err, tc.names)
		}
	}
}

func TestExpand(t *testing.T) {
	for _, tc := range []struct {
		template string
		params   map[string]string
		want     string
		err      string
	}{
		{"http://shop.svc/products/{id}", map[string]string{"id": "42"}, "http://shop.svc/products/42", ""},
		{"http://shop.svc/products/{id}", map[string]string{"id": "café"}, "http://shop.svc/products/caf%C3%A9", ""},
		{"http://shop.svc/products/{id}", map[string]string{"id": "a;b,c%"}, "http://shop.svc/products/a%3Bb%2Cc%25", ""},
		{"http://shop.svc/products/{id}.json", map[string]string{"id": "42"}, "http://shop.svc/products/42.json", ""},
		{"http://docs.svc/{path...}", map[string]string{"path": "a/b c/d"}, "http://docs.svc/a/b%20c/d", ""},
		{"http://docs.svc/{path}", map[string]string{"path": "a/b"}, "http://docs.svc/a/b", ""},
		{"http://shop.svc/p?id={id}&x=1", map[string]string{"id": "1&admin=1"}, "http://shop.svc/p?id=1%26admin%3D1&x=1", ""},
		{"http://shop.svc/p#{id}", map[string]string{"id": "a b"}, "http://shop.svc/p#a%20b", ""},
		{"http://shop.svc/{a}/{a}", map[string]string{"a": "x"}, "http://shop.svc/x/x", ""},
		{"http://shop.svc/static", map[string]string{"id": "x"}, "http://shop.svc/static", ""},
		{"http://shop.svc/products/{id}", map[string]string{}, "", "has no value"},
		{"http://shop.svc/products/{id}", map[string]string{"id": ".."}, "", "'..'"},
		{"http://shop.svc/products/{id}", map[string]string{"id": "a/../../admin"}, "", "'..'"},
		{"http://shop.svc/products/{id}", map[string]string{"id": ""}, "", "empty"},
		{"http://shop.svc/products/{id}", map[string]string{"id": "a\nb"}, "", "control"},
		{"http://{host}/p", map[string]string{"host": "evil"}, "", "never in the scheme or host"},
	} {
		got, err := Expand(tc.template, tc.params)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q, %q) = %q, %v; want an error about %q", tc.template, tc.params, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q, %q) = %q, %v; want %q", tc.template, tc.params, got, err, tc.want)
		}
	}
}

// FuzzPatternMatch checks that a match's values are safe (no '/' in a
// one-segment value, no NUL, no empty, '.' or '..' segment), that Path
// gives back the decoded request path, that the route is matched again
// through its escaped form with the same values, and that expanding the
// values into an origin URL neither leaves the origin's host nor adds a
// dot segment.
func FuzzPatternMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"/products/{id}", "/products/42"},
		{"/products/{id}", "/products/caf%C3%A9"},
		{"/products/{id}", "/products/a%2Fb"},
		{"/products/{id}", "/products/%2e%2e"},
		{"/docs/{path...}", "/docs/a/b/c"},
		{"/docs/{path...}", "/docs/a/%2e%2e/c"},
		{"/{a}/x/{b...}", "/1/x/2/3"},
		{"/{a}/", "/%61/"},
		{"/p/{id}", "/p/100%25"},
	} {
		f.Add(s[0], s[1])
	}
	fallback := []*Pattern{mustPattern(f, "/products/{id}"), mustPattern(f, "/docs/{path...}"), mustPattern(f, "/{a}/{b}/{c...}")}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		ps := fallback
		if p, err := ParsePattern(pattern); err == nil {
			ps = append(slices.Clip(ps), p)
		}
		for _, p := range ps {
			params, ok := p.Match(path)
			if !ok {
				continue
			}
			if len(params) != len(p.Names()) {
				t.Fatalf("%q.Match(%q) = %q: not every parameter has a value", p, path, params)
			}
			for name, v := range params {
				segs := strings.Split(v, "/")
				if len(segs) > 1 && name != p.rest {
					t.Fatalf("%q.Match(%q): {%s} = %q holds a '/'", p, path, name, v)
				}
				for _, s := range segs {
					if s == "" || s == "." || s == ".." || strings.ContainsRune(s, 0) {
						t.Fatalf("%q.Match(%q): {%s} = %q", p, path, name, v)
					}
				}
			}
			decoded, err := RequestPath(path)
			if err != nil {
				t.Fatalf("%q matched %q, which is not a request path: %v", p, path, err)
			}
			route, err := p.Path(params)
			if err != nil || route != decoded {
				t.Fatalf("%q.Match(%q) = %q; Path gives %q, %v; want %q", p, path, params, route, err, decoded)
			}
			again, ok := p.Match((&url.URL{Path: route}).EscapedPath())
			if !ok || !maps.Equal(again, params) {
				t.Fatalf("route %q from %q is matched as %q, %v; want %q", route, path, again, ok, params)
			}
			tmpl := "http://origin.svc/x"
			for _, name := range p.Names() {
				tmpl += "/{" + name + "}"
			}
			tmpl += "?q={" + p.Names()[0] + "}"
			expanded, err := Expand(tmpl, params)
			if err != nil {
				t.Fatalf("Expand(%q, %q): %v", tmpl, params, err)
			}
			u, err := url.Parse(expanded)
			if err != nil || u.Host != "origin.svc" || hasDotSegment(u.Path) || !strings.HasPrefix(u.Path, "/x/") {
				t.Fatalf("Expand(%q, %q) = %q, %v: leaves the origin's path", tmpl, params, expanded, err)
			}
			if u.Query().Get("q") != params[p.Names()[0]] {
				t.Fatalf("Expand(%q, %q) = %q: query is %q", tmpl, params, expanded, u.Query().Get("q"))
			}
		}
	})
}

func TestMatchRoute(t *testing.T) {
	p, err := ParsePattern("/products/{id}/{rest...}")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		route string
		want  map[string]string
	}{
		{"/products/42/a", map[string]string{"id": "42", "rest": "a"}},
		{"/products/café/a/b", map[string]string{"id": "café", "rest": "a/b"}},
		{"/products/a b/c", nil}, // whitespace is no route
		{"/products/100%/c", map[string]string{"id": "100%", "rest": "c"}},
		{"/products/42", nil},
		{"/products/../a", nil},
		{"/products/42/a/", nil},
		{"/products//a", nil},
		{"/products/a\x00/b", nil},
		{"products/42/a", nil},
		{"/other/42/a", nil},
	} {
		got, ok := p.MatchRoute(tc.route)
		if ok != (tc.want != nil) || ok && !maps.Equal(got, tc.want) {
			t.Errorf("MatchRoute(%q) = %v, %v; want %v", tc.route, got, ok, tc.want)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, name := range []string{"a", "z", "A", "Z", "_", "a0", "a9", "aZ_09"} {
		if err := validName(name); err != nil {
			t.Errorf("validName(%q) = %v, want nil", name, err)
		}
	}
	// The neighbours of each range, a leading digit, and the empty name.
	for _, name := range []string{"", "`", "{", "@", "[", "0", "9a", "a/", "a:", "a-b"} {
		if validName(name) == nil {
			t.Errorf("validName(%q) = nil, want an error", name)
		}
	}
}

func TestCheckRestLength(t *testing.T) {
	limit := strings.Repeat("a/", MaxParamLength/2-1) + "aa"
	if err := checkRest(limit); err != nil {
		t.Errorf("checkRest of %d bytes = %v, want nil", len(limit), err)
	}
	if err := checkRest(limit + "a"); !errors.Is(err, errValueLong) {
		t.Errorf("checkRest of %d bytes = %v, want %v", len(limit)+1, err, errValueLong)
	}
}

func TestMatchTemplate(t *testing.T) {
	for _, tc := range []struct {
		template string
		url      string
		want     map[string]string // nil: no match
	}{
		{"http://shop.svc/products/{id}", "http://shop.svc/products/42", map[string]string{"id": "42"}},
		{"http://shop.svc/products/{id}", "HTTP://Shop.SVC/products/42", map[string]string{"id": "42"}},
		{"http://shop.svc/products/{id}", "http://shop.svc/products/caf%C3%A9", map[string]string{"id": "café"}},
		{"http://shop.svc/products/{id}.json", "http://shop.svc/products/42.json", map[string]string{"id": "42"}},
		{"http://docs.svc/{path...}", "http://docs.svc/a/b%20c/d", map[string]string{"path": "a/b c/d"}},
		{"http://shop.svc/p?id={id}&x=1", "http://shop.svc/p?id=1%26a&x=1", map[string]string{"id": "1&a"}},
		{"http://shop.svc/{a}/{a}", "http://shop.svc/x/x", map[string]string{"a": "x"}},
		{"http://shop.svc/{lang}/p/{id}", "http://shop.svc/en/p/42", map[string]string{"lang": "en", "id": "42"}},
		// Not what Expand writes, or not this template at all.
		{"http://shop.svc/{a}/{a}", "http://shop.svc/x/y", nil},
		{"http://shop.svc/products/{id}", "http://shop.svc/products/42?ref=x", nil},
		{"http://shop.svc/products/{id}", "http://shop.svc/products/42/", nil},
		{"http://shop.svc/products/{id}", "http://shop.svc/items/42", nil},
		{"http://shop.svc/products/{id}", "https://shop.svc/products/42", nil},
		{"http://shop.svc/products/{id}", "http://other.svc/products/42", nil},
		{"http://shop.svc/products/{id}", "http://shop.svc/products/", nil},
		{"http://shop.svc/products/{id}", "http://shop.svc/products/%2e%2e", nil},
		{"http://shop.svc/products/{id}", "http://shop.svc/products/a%3bb", nil},
		{"http://shop.svc/products/{id}", "http://shop.svc/products/%zz", nil},
	} {
		got, ok := MatchTemplate(tc.template, tc.url)
		if ok != (tc.want != nil) || (ok && !maps.Equal(got, tc.want)) {
			t.Errorf("MatchTemplate(%q, %q) = %q, %v; want %q", tc.template, tc.url, got, ok, tc.want)
		}
	}
}
