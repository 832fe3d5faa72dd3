package route

import (
	"bufio"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRequestPath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"/", "/", true},
		{"/products/42", "/products/42", true},
		{"/caf%C3%A9", "/café", true},
		{"/café", "/café", true},
		{"/a%2Fb", "/a/b", true},
		{"//double", "//double", true},
		{"/100%25", "/100%", true},
		{"/%2e%2e", "/..", true},
		{"/a+b", "/a+b", true},
		{"/100%", "", false},
		{"/%zz", "", false},
		{"/a?b", "", false},
		{"/a#b", "", false},
		{"/%00", "/\x00", true},
		{"/\x00", "", false},
		{"/a\nb", "", false},
		{"relative", "", false},
		{"", "", false},
		{"http://host/a", "", false},
		{"*", "", false},
	} {
		got, err := RequestPath(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("RequestPath(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestValidateRoute(t *testing.T) {
	long := "/" + strings.Repeat("é", MaxRouteLength-1)
	for _, tc := range []struct {
		route string
		want  error
	}{
		{"/", nil},
		{"/products/42", nil},
		{"/products/42/", nil},
		{"/café", nil},
		{"/a.b/.c/..d/...", nil},
		{"/100%", nil},
		{"/100%2", nil},
		{"/%zz", nil},
		{"/{id}", nil},
		{"/a\u00a0b", nil}, // RE2's \s is ASCII only
		{"/a\u0085b", nil},
		{long, nil},
		{long + "é", errRouteTooLong},
		{"", errRouteEmpty},
		{"products", errRouteAbsolute},
		{"/a?b", errRouteQuery},
		{"/a#b", errRouteQuery},
		{"/.", errRouteDots},
		{"/..", errRouteDots},
		{"/a/../b", errRouteDots},
		{"/a/./b", errRouteDots},
		{"/a/..", errRouteDots},
		{"/a b", errRouteSpace},
		{"/a\tb", errRouteSpace},
		{"/a\nb", errRouteSpace},
		{"/a\x00b", errRouteSpace},
		{"/a\x7fb", errRouteSpace},
		{"/a\fb", errRouteSpace},
		{"/a\vb", errRouteSpace},
		{"//", errRouteEmptySeg},
		{"/a//b", errRouteEmptySeg},
		{"/%2e%2e", errRoutePercentHex},
		{"/a%2Fb", errRoutePercentHex},
		{"/caf%C3%A9", errRoutePercentHex},
		{"/a\xffb", errRouteUTF8},
	} {
		if got := ValidateRoute(tc.route); got != tc.want {
			t.Errorf("ValidateRoute(%.40q) = %v, want %v", tc.route, got, tc.want)
		}
	}
}

// CRD rules of spec.route as RE2 regexes, for comparison with
// ValidateRoute; the envtest agreement test checks the real API server.
var (
	crdRouteDots    = regexp.MustCompile(`(^|/)[.][.]?(/|$)`)
	crdRouteSpace   = regexp.MustCompile(`[\s\x00-\x1f\x7f]`)
	crdRoutePercent = regexp.MustCompile(`%[0-9a-fA-F]{2}`)
)

// crdAcceptsRoute is spec.route's validation written as the CRD writes it.
func crdAcceptsRoute(r string) bool {
	n := utf8.RuneCountInString(r)
	return n >= 1 && n <= MaxRouteLength &&
		strings.HasPrefix(r, "/") &&
		!strings.Contains(r, "?") && !strings.Contains(r, "#") &&
		!crdRouteDots.MatchString(r) &&
		!crdRouteSpace.MatchString(r) &&
		!strings.Contains(r, "//") &&
		!crdRoutePercent.MatchString(r)
}

// FuzzRequestPath checks that RequestPath agrees with net/http's parsing of
// a request line, that every route a page may have is reached through its
// escaped form, and that ValidateRoute agrees with the CRD's rules.
func FuzzRequestPath(f *testing.F) {
	for _, p := range []string{
		"/", "/products/42", "/caf%C3%A9", "/café", "/a%2Fb", "//double", "/100%25", "/100%",
		"/%zz", "/a?b", "/a#b", "/%00", "/a b", "/%3F", "relative", "", "/%2e%2e/x", "/a/./b",
		"/\xff", "/a\u00a0", "*",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if utf8.ValidString(p) && (ValidateRoute(p) == nil) != crdAcceptsRoute(p) {
			t.Fatalf("ValidateRoute(%q) = %v, the CRD's rules say %v", p, ValidateRoute(p), crdAcceptsRoute(p))
		}
		route, err := RequestPath(p)
		if err == nil {
			// What a visitor asking for p is served from, per net/http.
			if !strings.ContainsAny(p, " \r\n") {
				req, rerr := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + p + " HTTP/1.1\r\nHost: x\r\n\r\n")))
				if rerr == nil && req.URL.Path != route {
					t.Fatalf("RequestPath(%q) = %q, net/http routes it to %q", p, route, req.URL.Path)
				}
			}
			if !strings.HasPrefix(route, "/") {
				t.Fatalf("RequestPath(%q) = %q is not absolute", p, route)
			}
		}

		// Any route is reached through its escaped form, by RequestPath and
		// by net/http.
		r := "/" + strings.TrimPrefix(p, "/")
		escaped := (&url.URL{Path: r}).EscapedPath()
		back, err := RequestPath(escaped)
		if err != nil || back != r {
			t.Fatalf("route %q escaped as %q comes back as %q, %v", r, escaped, back, err)
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + escaped + " HTTP/1.1\r\nHost: x\r\n\r\n")))
		if err != nil {
			t.Fatalf("request for route %q as %q: %v", r, escaped, err)
		}
		if req.URL.Path != r {
			t.Fatalf("route %q requested as %q reaches %q", r, escaped, req.URL.Path)
		}
	})
}

func TestHasPercentHex(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"/a%00", true}, {"/a%99", true}, {"/a%af", true}, {"/a%AF", true}, {"/a%fa", true}, {"/a%FA", true},
		// The neighbours of 0-9, a-f and A-F are not hex digits.
		{"/a%/0", false}, {"/a%:0", false}, {"/a%`0", false}, {"/a%g0", false}, {"/a%@0", false}, {"/a%G0", false},
		{"/a%0/", false}, {"/a%0:", false}, {"/a%0`", false}, {"/a%0g", false}, {"/a%0@", false}, {"/a%0G", false},
		{"/a%0", false}, {"%", false}, {"", false},
	} {
		if got := hasPercentHex(tc.s); got != tc.want {
			t.Errorf("hasPercentHex(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
