package server

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
)

// FuzzRoutePath checks that every route a page may have is reached through
// its escaped form, both by route.RequestPath (what the revalidate API
// decodes a path with; its agreement with net/http is route's own fuzz
// target) and by a real request to the handler, and to fasthttp's hit path.
func FuzzRoutePath(f *testing.F) {
	for _, p := range []string{
		"/", "/products/42", "/caf%C3%A9", "/café", "/a%2Fb", "//double", "/100%25", "/100%",
		"/%zz", "/a?b", "/a#b", "/%00", "/a b", "/%3F", "relative", "",
	} {
		f.Add(p)
	}
	// One entry for every iteration, moved to each route as a metadata
	// change moves it: compressing is the slow part.
	page, obj := testPage("page", "", "/", "body", 0, pagesv1alpha1.RevalidateInterval)
	base := mustEntry(f, page, obj)
	f.Fuzz(func(t *testing.T, p string) {
		// Any route a page may have is reached through its escaped form,
		// both by route.RequestPath and by a real request to the handler.
		r := "/" + strings.TrimPrefix(p, "/")
		escaped := (&url.URL{Path: r}).EscapedPath()
		back, err := route.RequestPath(escaped)
		if err != nil || back != r {
			t.Fatalf("route %q escaped as %q comes back as %q, %v", r, escaped, back, err)
		}
		h := &Handler{Table: NewTable(), Clock: fakeNow{}}
		at := page.DeepCopy()
		at.Spec.Route = r
		h.Table.Put(base.withPage(at, policy))
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + escaped + " HTTP/1.1\r\nHost: x\r\n\r\n")))
		if err != nil {
			t.Fatalf("request for route %q as %q: %v", r, escaped, err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("route %q requested as %q: %d", r, escaped, rec.Code)
		}
		// fasthttp's page server decodes the target itself, the same way.
		f := &fastPages{h: h, base: context.Background()}
		ctx := fastRequest(t, "GET "+escaped+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if !f.serveHit(ctx) {
			t.Fatalf("route %q requested as %q from fasthttp: not served as a hit", r, escaped)
		}
	})
}

// fakeNow is a clock stopped at t0.
type fakeNow struct{}

func (fakeNow) Now() time.Time                  { return t0 }
func (fakeNow) Since(t time.Time) time.Duration { return t0.Sub(t) }
