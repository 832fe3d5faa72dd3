package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/render"
	"github.com/isr-operator/isr-operator/internal/storage"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

var policy = CachePolicy{StaleWhileRevalidate: time.Hour, StaleIfError: 24 * time.Hour, OnDemandMaxAge: time.Minute}

// testPage builds a rendered page and its stored object.
func testPage(name, host, route, body string, revalidate time.Duration, mode pagesv1alpha1.RevalidateMode) (*pagesv1alpha1.StaticPage, *storage.Object) {
	p := &pagesv1alpha1.StaticPage{}
	p.Namespace, p.Name = "default", name
	p.CreationTimestamp = metav1.Time{Time: t0.Add(-time.Hour)}
	p.Spec.Host, p.Spec.Route, p.Spec.RevalidateMode = host, route, mode
	if revalidate > 0 {
		p.Spec.Revalidate = &metav1.Duration{Duration: revalidate}
	}
	p.Status.RenderedAt = &metav1.Time{Time: t0}
	p.Status.Digest = render.Digest([]byte(body))
	gz, err := storage.Compress([]byte(body))
	if err != nil {
		panic(err)
	}
	return p, &storage.Object{Digest: p.Status.Digest, ContentType: "text/html; charset=utf-8", Gzip: gz, StoredAt: t0.Add(-time.Minute)}
}

func mustEntry(t testing.TB, p *pagesv1alpha1.StaticPage, obj *storage.Object) *Entry {
	t.Helper()
	e, err := NewEntry(p, obj, policy)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type countingRevalidator struct {
	calls  atomic.Int32
	tokens sync.Map
}

func (c *countingRevalidator) Revalidate(_ context.Context, _ types.NamespacedName, token string) error {
	c.calls.Add(1)
	c.tokens.Store(token, true)
	return nil
}

func newTestEntry(t testing.TB, name, host, route, body string, revalidate time.Duration, mode pagesv1alpha1.RevalidateMode) *Entry {
	p, obj := testPage(name, host, route, body, revalidate, mode)
	return mustEntry(t, p, obj)
}

func newTestHandler(t testing.TB) (*Handler, *clocktesting.FakeClock, *countingRevalidator) {
	table := NewTable()
	table.Put(newTestEntry(t, "home", "", "/", "<h1>home</h1>", time.Minute, pagesv1alpha1.RevalidateInterval))
	table.Put(newTestEntry(t, "shop", "shop.example.com", "/", "<h1>shop</h1>", time.Minute, pagesv1alpha1.RevalidateInterval))
	table.Put(newTestEntry(t, "lazy", "", "/lazy", "<h1>lazy</h1>", time.Minute, pagesv1alpha1.RevalidateOnRequest))
	table.Put(newTestEntry(t, "manual", "", "/manual", "<h1>manual</h1>", 0, pagesv1alpha1.RevalidateInterval))
	clk := clocktesting.NewFakeClock(t0.Add(10 * time.Second))
	rv := &countingRevalidator{}
	return &Handler{Table: table, Clock: clk, Revalidator: rv}, clk, rv
}

func do(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFreshHit(t *testing.T) { forEachServer(t, testFreshHit) }

func testFreshHit(t *testing.T, serve func(*Handler) http.Handler) {
	h, _, rv := newTestHandler(t)
	srv := serve(h)
	rec := do(srv, "GET", "http://any.example/")
	if rec.Code != 200 || rec.Body.String() != "<h1>home</h1>" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	want := map[string]string{
		"Cache-Control":  "public, max-age=0, s-maxage=60, stale-while-revalidate=3600, stale-if-error=86400",
		"Age":            "10",
		"Cache-Status":   "isr-operator; hit; ttl=50",
		"Vary":           "Accept-Encoding",
		"Content-Type":   "text/html; charset=utf-8",
		"Content-Length": "13",
		"Last-Modified":  "Tue, 24 Nov 2026 11:59:00 GMT",
		"Etag":           `"` + strings.TrimPrefix(render.Digest([]byte("<h1>home</h1>")), "sha256:") + `"`,
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if rec.Header().Get("Content-Encoding") != "" {
		t.Error("identity response has a Content-Encoding")
	}
	if rv.calls.Load() != 0 {
		t.Error("a fresh hit asked for a re-render")
	}
}

func TestStaleServedAtOnce(t *testing.T) { forEachServer(t, testStaleServedAtOnce) }

func testStaleServedAtOnce(t *testing.T, serve func(*Handler) http.Handler) {
	h, clk, rv := newTestHandler(t)
	srv := serve(h)
	clk.SetTime(t0.Add(90 * time.Second))
	rec := do(srv, "GET", "http://x/")
	if rec.Code != 200 || rec.Body.String() != "<h1>home</h1>" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	if got := rec.Header().Get("Cache-Status"); got != "isr-operator; hit; ttl=-30; detail=stale" {
		t.Errorf("Cache-Status = %q", got)
	}
	// Age beyond s-maxage tells a downstream cache the copy is already stale.
	if got := rec.Header().Get("Age"); got != "90" {
		t.Errorf("Age = %q", got)
	}
	// Interval pages are re-rendered by the controller, not by requests.
	if rv.calls.Load() != 0 {
		t.Error("a stale Interval page asked for a re-render")
	}
}

func TestOnDemandPage(t *testing.T) { forEachServer(t, testOnDemandPage) }

func testOnDemandPage(t *testing.T, serve func(*Handler) http.Handler) {
	h, clk, _ := newTestHandler(t)
	srv := serve(h)
	clk.SetTime(t0.Add(48 * time.Hour))
	rec := do(srv, "GET", "http://x/manual")
	if got := rec.Header().Get("Cache-Status"); got != "isr-operator; hit" {
		t.Errorf("Cache-Status = %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "s-maxage=60,") {
		t.Errorf("Cache-Control = %q", got)
	}
}

func TestGzip(t *testing.T) { forEachServer(t, testGzip) }

func testGzip(t *testing.T, serve func(*Handler) http.Handler) {
	h, _, _ := newTestHandler(t)
	srv := serve(h)
	for _, ae := range []string{"gzip", "br;q=0.5, gzip", "br;q=0, *", "deflate, GZIP"} {
		rec := do(srv, "GET", "http://x/", "Accept-Encoding", ae)
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding %q: no gzip", ae)
		}
		zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(zr)
		if string(body) != "<h1>home</h1>" {
			t.Fatalf("gunzipped %q", body)
		}
		if !strings.HasSuffix(rec.Header().Get("Etag"), `-gzip"`) {
			t.Errorf("gzip ETag %q must differ from the identity one", rec.Header().Get("Etag"))
		}
		if rec.Header().Get("Content-Length") != itoa(rec.Body.Len()) {
			t.Errorf("Content-Length %s for %d bytes", rec.Header().Get("Content-Length"), rec.Body.Len())
		}
	}
	for _, ae := range []string{"", "gzip;q=0", "identity", "*;q=0", "br;q=0, gzip;q=0", "compress"} {
		rec := do(srv, "GET", "http://x/", "Accept-Encoding", ae)
		if rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != "<h1>home</h1>" {
			t.Errorf("Accept-Encoding %q: got encoding %q", ae, rec.Header().Get("Content-Encoding"))
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestBrotli(t *testing.T) { forEachServer(t, testBrotli) }

func testBrotli(t *testing.T, serve func(*Handler) http.Handler) {
	h, _, _ := newTestHandler(t)
	srv := serve(h)
	for _, ae := range []string{"br", "gzip, br", "br, gzip", "*", "gzip;q=0.8, br;q=0.9"} {
		rec := do(srv, "GET", "http://x/", "Accept-Encoding", ae)
		if rec.Header().Get("Content-Encoding") != "br" {
			t.Fatalf("Accept-Encoding %q: encoding %q, want br", ae, rec.Header().Get("Content-Encoding"))
		}
		body, err := io.ReadAll(brotli.NewReader(bytes.NewReader(rec.Body.Bytes())))
		if err != nil || string(body) != "<h1>home</h1>" {
			t.Fatalf("decoded %q, %v", body, err)
		}
		if !strings.HasSuffix(rec.Header().Get("Etag"), `-br"`) {
			t.Errorf("brotli ETag %q must differ from the others", rec.Header().Get("Etag"))
		}
		if rec.Header().Get("Content-Length") != itoa(rec.Body.Len()) {
			t.Errorf("Content-Length %s for %d bytes", rec.Header().Get("Content-Length"), rec.Body.Len())
		}
		if rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Vary = %q", rec.Header().Get("Vary"))
		}
	}
	// A brotli ETag revalidates the same content in any coding.
	etag := do(srv, "GET", "http://x/", "Accept-Encoding", "br").Header().Get("Etag")
	if rec := do(srv, "GET", "http://x/", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the brotli ETag: %d", rec.Code)
	}
}

func TestNegotiate(t *testing.T) {
	all := [numCodings]bool{true, true, true}
	noBr := [numCodings]bool{true, true, false}
	tests := []struct {
		ae   string
		has  [numCodings]bool
		want coding
	}{
		{"", all, identity},
		{"br", noBr, identity},
		{"br, gzip", noBr, codingGzip},
		{"gzip;q=1.0, br;q=0.999", all, codingGzip},
		{"gzip; Q=0.5, identity;q=0.6", all, identity},
		{"*;q=0.5, identity;q=0", all, codingBrotli},
		{"identity;q=0", noBr, identity}, // nothing acceptable: identity, not 406
		{"gzip;q=bogus, br;q=-1", all, identity},
		{"x-gzip", all, codingGzip},
		{"BR;q=0.1", all, codingBrotli},
	}
	for _, tt := range tests {
		if got := negotiate([]string{tt.ae}, tt.has); got != tt.want {
			t.Errorf("negotiate(%q) = %d, want %d", tt.ae, got, tt.want)
		}
	}
}

func TestConditional(t *testing.T) { forEachServer(t, testConditional) }

func testConditional(t *testing.T, serve func(*Handler) http.Handler) {
	h, _, _ := newTestHandler(t)
	srv := serve(h)
	first := do(srv, "GET", "http://x/", "Accept-Encoding", "gzip")
	etag := first.Header().Get("Etag")
	for _, inm := range []string{etag, `"nope", ` + etag, "W/" + etag, "*"} {
		rec := do(srv, "GET", "http://x/", "Accept-Encoding", "gzip", "If-None-Match", inm)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d with %d bytes", inm, rec.Code, rec.Body.Len())
		}
		if rec.Header().Get("Etag") != etag {
			t.Errorf("304 without the ETag")
		}
	}
	// An identity client revalidating a gzip ETag: same content, 304.
	if rec := do(srv, "GET", "http://x/", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("cross-encoding revalidation: %d", rec.Code)
	}
	if rec := do(srv, "GET", "http://x/", "If-None-Match", `"other"`); rec.Code != 200 {
		t.Errorf("mismatched ETag: %d", rec.Code)
	}
	if rec := do(srv, "GET", "http://x/", "If-Modified-Since", "Tue, 24 Nov 2026 11:59:00 GMT"); rec.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since at Last-Modified: %d", rec.Code)
	}
	if rec := do(srv, "GET", "http://x/", "If-Modified-Since", "Tue, 24 Nov 2026 11:58:59 GMT"); rec.Code != 200 {
		t.Errorf("If-Modified-Since before Last-Modified: %d", rec.Code)
	}
}

func TestHead(t *testing.T) { forEachServer(t, testHead) }

func testHead(t *testing.T, serve func(*Handler) http.Handler) {
	h, _, _ := newTestHandler(t)
	srv := serve(h)
	rec := do(srv, "HEAD", "http://x/")
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "13" || rec.Header().Get("Etag") == "" {
		t.Fatalf("HEAD: %d, %d bytes, headers %v", rec.Code, rec.Body.Len(), rec.Header())
	}
}

func TestRouting(t *testing.T) { forEachServer(t, testRouting) }

func testRouting(t *testing.T, serve func(*Handler) http.Handler) {
	h, _, _ := newTestHandler(t)
	srv := serve(h)
	cases := []struct{ target, host, want string }{
		{"/", "shop.example.com", "<h1>shop</h1>"},
		{"/", "SHOP.example.com:8080", "<h1>shop</h1>"},
		{"/", "shop.example.com.", "<h1>shop</h1>"},
		{"/", "other.example.com", "<h1>home</h1>"},
		{"/lazy?utm=1", "shop.example.com", "<h1>lazy</h1>"},
	}
	for _, c := range cases {
		req := httptest.NewRequest("GET", c.target, nil)
		req.Host = c.host
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Body.String() != c.want {
			t.Errorf("%s %s = %q, want %q", c.host, c.target, rec.Body.String(), c.want)
		}
	}
	for _, target := range []string{"http://x/nope", "http://x/lazy/", "http://shop.example.com/unknown"} {
		if rec := do(srv, "GET", target); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", target, rec.Code)
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		rec := do(srv, m, "http://x/")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d Allow=%q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestOnRequestTriggersOncePerRendition(t *testing.T) {
	forEachServer(t, testOnRequestTriggersOncePerRendition)
}

func testOnRequestTriggersOncePerRendition(t *testing.T, serve func(*Handler) http.Handler) {
	h, clk, rv := newTestHandler(t)
	srv := serve(h)
	// Fresh: nothing.
	do(srv, "GET", "http://x/lazy")
	clk.SetTime(t0.Add(2 * time.Minute))
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec := do(srv, "GET", "http://x/lazy"); rec.Code != 200 {
				t.Errorf("stale hit: %d", rec.Code)
			}
		}()
	}
	wg.Wait()
	waitFor(t, func() bool { return rv.calls.Load() >= 1 })
	if n := rv.calls.Load(); n != 1 {
		t.Fatalf("%d re-render requests for one stale rendition, want 1", n)
	}
	if _, ok := rv.tokens.Load("stale-" + itoa(int(t0.Unix()))); !ok {
		t.Error("token is not derived from the render time")
	}
	// Once the page carries the token (as seen by another replica), no
	// replica asks again.
	p, obj := testPage("lazy", "", "/lazy", "<h1>lazy</h1>", time.Minute, pagesv1alpha1.RevalidateOnRequest)
	p.Annotations = map[string]string{pagesv1alpha1.RevalidateAnnotation: "stale-" + itoa(int(t0.Unix()))}
	h.Table.Put(mustEntry(t, p, obj))
	do(srv, "GET", "http://x/lazy")
	// A new render makes a new rendition, which may ask once more.
	p.Status.RenderedAt = &metav1.Time{Time: t0.Add(2 * time.Minute)}
	h.Table.Put(mustEntry(t, p, obj))
	clk.SetTime(t0.Add(4 * time.Minute))
	do(srv, "GET", "http://x/lazy")
	waitFor(t, func() bool { return rv.calls.Load() >= 2 })
	if n := rv.calls.Load(); n != 2 {
		t.Fatalf("%d re-render requests after a second rendition went stale, want 2", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met")
}

func TestTableWinner(t *testing.T) {
	table := NewTable()
	older, obj := testPage("older", "", "/same", "older", 0, "")
	newer, obj2 := testPage("newer", "", "/same", "newer", 0, "")
	newer.CreationTimestamp = metav1.Time{Time: older.CreationTimestamp.Add(time.Second)}
	table.Put(mustEntry(t, newer, obj2))
	table.Put(mustEntry(t, older, obj))
	if e := table.Lookup("", "/same"); e.Page.Name != "older" {
		t.Fatalf("winner %s, want the older page", e.Page.Name)
	}
	table.Delete(types.NamespacedName{Namespace: "default", Name: "older"})
	if e := table.Lookup("", "/same"); e == nil || e.Page.Name != "newer" {
		t.Fatal("the route did not pass to the remaining page")
	}
	// Moving a page to another route frees the old one.
	newer.Spec.Route = "/moved"
	table.Put(mustEntry(t, newer, obj2))
	if table.Lookup("", "/same") != nil || table.Lookup("", "/moved") == nil {
		t.Fatal("route move not reflected")
	}
}
