package server

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/isr-operator/isr-operator/internal/route"
)

// specHost is spec.host's OpenAPI pattern: the hosts a page can declare.
var specHost = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$`)

// FuzzHostMatches checks the table against internal/route's host rules: a
// request reaches a page declared for a host exactly when route.HostMatches
// says so, normalising twice changes nothing, normalising only folds ASCII
// case and drops dots, and a host a page can declare is already normal.
func FuzzHostMatches(f *testing.F) {
	for _, seed := range [][2]string{
		{"shop.example.com", "SHOP.example.com:443"},
		{"shop.example.com.", "shop.example.com"},
		{"", "anything"},
		{"[::1]", "[::1]:8000"},
		{"a", "a:"},
		{"a:80", "a"},
		{"x.", "x.:80"},
		{"key.example", "\u212Aey.example"},
		{"a", "a..:80"},
	} {
		f.Add(seed[0], seed[1], "/p")
	}
	f.Fuzz(func(t *testing.T, pageHost, host, path string) {
		n := route.NormalizeHost(host)
		if route.NormalizeHost(n) != n {
			t.Fatalf("route.NormalizeHost(%q) = %q, not stable", host, n)
		}
		// Unicode folding or rewriting bytes would let other names (such as
		// "\u212Aey" with a Kelvin sign) reach a page.
		if undotted(asciiLowerRef(host)) != undotted(n) {
			t.Fatalf("route.NormalizeHost(%q) = %q does more than fold ASCII case and drop dots", host, n)
		}
		if specHost.MatchString(pageHost) && route.NormalizeHost(pageHost) != pageHost {
			t.Fatalf("spec.host %q normalises to %q", pageHost, route.NormalizeHost(pageHost))
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		tbl := NewTable()
		e := &Entry{Page: types.NamespacedName{Namespace: "ns", Name: "p"}, Host: route.NormalizeHost(pageHost), Route: path, Created: time.Unix(0, 0)}
		tbl.Put(e)
		got := tbl.Lookup(host, path) == e
		if want := route.HostMatches(pageHost, host); got != want {
			t.Fatalf("page host %q, request host %q: served = %v, HostMatches = %v", pageHost, host, got, want)
		}
	})
}

func undotted(s string) string { return strings.ReplaceAll(s, ".", "") }

// asciiLowerRef is the reference ASCII lowercasing.
func asciiLowerRef(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
