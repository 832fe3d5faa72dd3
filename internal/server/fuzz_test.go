package server

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// FuzzHostMatches checks host normalisation against the route table: a
// request reaches a page declared for a host exactly when HostMatches says
// so, and normalising twice changes nothing.
func FuzzHostMatches(f *testing.F) {
	for _, seed := range [][2]string{
		{"shop.example.com", "SHOP.example.com:443"},
		{"shop.example.com.", "shop.example.com"},
		{"", "anything"},
		{"[::1]", "[::1]:8000"},
		{"a", "a:"},
		{"a:80", "a"},
		{"x.", "x.:80"},
	} {
		f.Add(seed[0], seed[1], "/p")
	}
	f.Fuzz(func(t *testing.T, pageHost, host, route string) {
		if n := NormalizeHost(host); NormalizeHost(n) != n {
			t.Fatalf("NormalizeHost(%q) = %q, not stable", host, n)
		}
		if !strings.HasPrefix(route, "/") {
			route = "/" + route
		}
		tbl := NewTable()
		e := &Entry{Page: types.NamespacedName{Namespace: "ns", Name: "p"}, Host: NormalizeHost(pageHost), Route: route, Created: time.Unix(0, 0)}
		tbl.Put(e)
		got := tbl.Lookup(host, route) == e
		if want := HostMatches(pageHost, host); got != want {
			t.Fatalf("page host %q, request host %q: served = %v, HostMatches = %v", pageHost, host, got, want)
		}
	})
}
