package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// policy is the header table's: its pages carry tags, sent in the xkey
// and Cache-Tag headers, and a CDN-Cache-Control, so that every check and
// the allocation counts run with the CDN headers.
var policy = CachePolicy{StaleWhileRevalidate: time.Hour, StaleIfError: 24 * time.Hour, OnDemandMaxAge: time.Minute,
	CDN: mustCDN([]string{"xkey", "Cache-Tag"}, "max-age=3600", "")}

func mustCDN(tagHeaders []string, control, header string) *CDNHeaders {
	c, err := NewCDNHeaders(tagHeaders, control, header)
	if err != nil {
		panic(err)
	}
	return c
}

// testTags are the status.tags of the test page name.
func testTags(name string) []string {
	return []string{"isr_page_default_" + name, "site", name + "-tag"}
}

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
	p.Status.Digest = digest.Of([]byte(body))
	p.Status.Tags = testTags(name)
	gz, err := storage.Compress([]byte(body))
	if err != nil {
		panic(err)
	}
	return p, &storage.Object{Digest: p.Status.Digest, ContentType: "text/html; charset=utf-8", Gzip: gz, StoredAt: storedAt}
}

func mustEntry(t testing.TB, p *pagesv1alpha1.StaticPage, obj *storage.Object) *Entry {
	t.Helper()
	e, err := NewEntry(p, obj, policy)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newTestEntry(t testing.TB, name, host, route, body string, revalidate time.Duration, mode pagesv1alpha1.RevalidateMode) *Entry {
	p, obj := testPage(name, host, route, body, revalidate, mode)
	return mustEntry(t, p, obj)
}

// The bodies of the header table's pages compress well, so that every
// store keeps (or the server makes) every coding: the same requests get the
// same answers whatever the pages were loaded from.
var (
	homeBody   = strings.Repeat("<h1>home</h1>\n", 8)
	shopBody   = strings.Repeat("<h1>shop</h1>\n", 8)
	lazyBody   = strings.Repeat("<h1>lazy</h1>\n", 8)
	manualBody = strings.Repeat("<h1>manual</h1>\n", 8)
)

// headerPage is one page of the header table's server.
type headerPage struct {
	name, host, route, body string
	revalidate              time.Duration
	mode                    pagesv1alpha1.RevalidateMode
}

// headerPages are what the header table's server serves.
var headerPages = []headerPage{
	{"home", "", "/", homeBody, time.Minute, pagesv1alpha1.RevalidateInterval},
	{"shop", "shop.example.com", "/", shopBody, time.Minute, pagesv1alpha1.RevalidateInterval},
	{"lazy", "", "/lazy", lazyBody, time.Minute, pagesv1alpha1.RevalidateOnRequest},
	{"manual", "", "/manual", manualBody, 0, pagesv1alpha1.RevalidateInterval},
}

// newTestHandler serves the header pages from entries built in memory.
func newTestHandler(t testing.TB) (*Handler, *clocktesting.FakeClock, *testenv.Revalidator) {
	table := NewTable()
	for _, hp := range headerPages {
		table.Put(newTestEntry(t, hp.name, hp.host, hp.route, hp.body, hp.revalidate, hp.mode))
	}
	return handlerFor(table)
}

// handlerFor serves table at t0+10s, counting re-render requests.
func handlerFor(table *Table) (*Handler, *clocktesting.FakeClock, *testenv.Revalidator) {
	clk := clocktesting.NewFakeClock(t0.Add(10 * time.Second))
	rv := &testenv.Revalidator{}
	return &Handler{Table: table, Clock: clk, Revalidator: rv}, clk, rv
}

// headerChecks is the header table: each check gets a server holding the
// header pages, at t0+10s.
var headerChecks = []struct {
	name  string
	check func(*testing.T, http.Handler, *clocktesting.FakeClock, *testenv.Revalidator)
}{
	{"fresh hit", checkFreshHit},
	{"stale served at once", checkStaleServedAtOnce},
	{"stale OnRequest page served before its re-render request returns", checkStaleOnRequestServedAtOnce},
	{"on-demand page", checkOnDemandPage},
	{"gzip", checkGzip},
	{"brotli", checkBrotli},
	{"conditional requests", checkConditional},
	{"HEAD", checkHead},
	{"routing", checkRouting},
	{"CDN headers", checkCDNHeaders},
}

// TestHeaders runs the header table against a server fed in memory, from
// ConfigMaps on a real API server, and from a real S3 server (versitygw),
// each called directly and over loopback through net/http and fasthttp:
// whatever the backend and the HTTP server, a request gets the same answer.
func TestHeaders(t *testing.T) {
	for _, src := range headerSources {
		t.Run(src.name, func(t *testing.T) {
			fill := src.open(t)
			for _, c := range headerChecks {
				t.Run(c.name, func(t *testing.T) {
					forEachServer(t, func(t *testing.T, serve func(*Handler) http.Handler) {
						table := NewTable()
						fill(t, table)
						h, clk, rv := handlerFor(table)
						c.check(t, serve(h), clk, rv)
					})
				})
			}
		})
	}
}

// checkCDNHeaders: each page's tags go in the configured tag headers, in
// each one's syntax, with the CDN's own Cache-Control, on 200 and 304.
func checkCDNHeaders(t *testing.T, h http.Handler, _ *clocktesting.FakeClock, _ *testenv.Revalidator) {
	for _, host := range []string{"x", "shop.example.com"} {
		rec := do(h, "GET", "http://"+host+"/")
		name := map[string]string{"x": "home", "shop.example.com": "shop"}[host]
		want := map[string]string{
			"Xkey":              strings.Join(testTags(name), " "),
			"Cache-Tag":         strings.Join(testTags(name), ","),
			"Cdn-Cache-Control": "max-age=3600",
			"Cache-Control":     "public, max-age=0, s-maxage=60, stale-while-revalidate=3600, stale-if-error=86400",
		}
		for k, v := range want {
			if got := rec.Header().Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("%s /: %s = %q, want %q", host, k, got, v)
			}
		}
		for _, k := range []string{"Surrogate-Key", "Edge-Cache-Tag", "Cdn-Tag", "Surrogate-Control"} {
			if got := rec.Header().Values(k); got != nil {
				t.Errorf("%s / sends %s %q, which is not configured", host, k, got)
			}
		}
		notModified := do(h, "GET", "http://"+host+"/", "If-None-Match", rec.Header().Get("Etag"))
		if notModified.Code != http.StatusNotModified || notModified.Header().Get("Xkey") != want["Xkey"] {
			t.Errorf("%s / 304: %d, xkey %q", host, notModified.Code, notModified.Header().Get("Xkey"))
		}
	}
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

func checkFreshHit(t *testing.T, h http.Handler, _ *clocktesting.FakeClock, rv *testenv.Revalidator) {
	rec := do(h, "GET", "http://any.example/")
	if rec.Code != 200 || rec.Body.String() != homeBody {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	want := map[string]string{
		"Cache-Control":  "public, max-age=0, s-maxage=60, stale-while-revalidate=3600, stale-if-error=86400",
		"Age":            "10",
		"Cache-Status":   "isr-operator; hit; ttl=50",
		"Vary":           "Accept-Encoding",
		"Content-Type":   "text/html; charset=utf-8",
		"Content-Length": itoa(len(homeBody)),
		"Last-Modified":  "Tue, 24 Nov 2026 11:59:00 GMT",
		"Etag":           `"` + strings.TrimPrefix(digest.Of([]byte(homeBody)), "sha256:") + `"`,
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if rec.Header().Get("Content-Encoding") != "" {
		t.Error("identity response has a Content-Encoding")
	}
	if rv.Calls() != 0 {
		t.Error("a fresh hit asked for a re-render")
	}
}

func checkStaleServedAtOnce(t *testing.T, h http.Handler, clk *clocktesting.FakeClock, rv *testenv.Revalidator) {
	clk.SetTime(t0.Add(90 * time.Second))
	rec := do(h, "GET", "http://x/")
	if rec.Code != 200 || rec.Body.String() != homeBody {
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
	if rv.Calls() != 0 {
		t.Error("a stale Interval page asked for a re-render")
	}
}

// hangGuard ends a wait that, when the code is wrong, would never end. It
// bounds no latency: a correct server answers long before, whatever the
// machine's load.
const hangGuard = 20 * time.Second

// checkStaleOnRequestServedAtOnce asks for a stale OnRequest page while the
// re-render request it causes is held: the stale page must be answered
// anyway, since the request never waits on a re-render.
func checkStaleOnRequestServedAtOnce(t *testing.T, h http.Handler, clk *clocktesting.FakeClock, rv *testenv.Revalidator) {
	entered, release := rv.Block()
	defer release()
	clk.SetTime(t0.Add(90 * time.Second))
	answered := make(chan *httptest.ResponseRecorder, 1)
	go func() { answered <- do(h, "GET", "http://x/lazy") }()

	guard := time.NewTimer(hangGuard)
	defer guard.Stop()
	select {
	case <-entered:
	case <-guard.C:
		t.Fatal("a stale OnRequest page asked for no re-render")
	}
	// The re-render request is now held until release.
	var rec *httptest.ResponseRecorder
	select {
	case rec = <-answered:
	case <-guard.C:
		t.Fatal("no answer while the re-render request was held: the stale page waited for it")
	}
	if rec.Code != 200 || rec.Body.String() != lazyBody {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	if got := rec.Header().Get("Cache-Status"); got != "isr-operator; hit; ttl=-30; detail=stale" {
		t.Errorf("Cache-Status = %q", got)
	}
	if n := rv.Calls(); n != 1 {
		t.Errorf("%d re-render requests, want 1", n)
	}
}

func checkOnDemandPage(t *testing.T, h http.Handler, clk *clocktesting.FakeClock, _ *testenv.Revalidator) {
	clk.SetTime(t0.Add(48 * time.Hour))
	rec := do(h, "GET", "http://x/manual")
	if got := rec.Header().Get("Cache-Status"); got != "isr-operator; hit" {
		t.Errorf("Cache-Status = %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "s-maxage=60,") {
		t.Errorf("Cache-Control = %q", got)
	}
}

func checkGzip(t *testing.T, h http.Handler, _ *clocktesting.FakeClock, _ *testenv.Revalidator) {
	for _, ae := range []string{"gzip", "br;q=0.5, gzip", "br;q=0, *", "deflate, GZIP"} {
		rec := do(h, "GET", "http://x/", "Accept-Encoding", ae)
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding %q: no gzip", ae)
		}
		zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(zr)
		if string(body) != homeBody {
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
		rec := do(h, "GET", "http://x/", "Accept-Encoding", ae)
		if rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != homeBody {
			t.Errorf("Accept-Encoding %q: got encoding %q", ae, rec.Header().Get("Content-Encoding"))
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func checkBrotli(t *testing.T, h http.Handler, _ *clocktesting.FakeClock, _ *testenv.Revalidator) {
	for _, ae := range []string{"br", "gzip, br", "br, gzip", "*", "gzip;q=0.8, br;q=0.9"} {
		rec := do(h, "GET", "http://x/", "Accept-Encoding", ae)
		if rec.Header().Get("Content-Encoding") != "br" {
			t.Fatalf("Accept-Encoding %q: encoding %q, want br", ae, rec.Header().Get("Content-Encoding"))
		}
		body, err := io.ReadAll(brotli.NewReader(bytes.NewReader(rec.Body.Bytes())))
		if err != nil || string(body) != homeBody {
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
	etag := do(h, "GET", "http://x/", "Accept-Encoding", "br").Header().Get("Etag")
	if rec := do(h, "GET", "http://x/", "If-None-Match", etag); rec.Code != http.StatusNotModified {
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

func checkConditional(t *testing.T, h http.Handler, _ *clocktesting.FakeClock, _ *testenv.Revalidator) {
	first := do(h, "GET", "http://x/", "Accept-Encoding", "gzip")
	etag := first.Header().Get("Etag")
	for _, inm := range []string{etag, `"nope", ` + etag, "W/" + etag, "*"} {
		rec := do(h, "GET", "http://x/", "Accept-Encoding", "gzip", "If-None-Match", inm)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d with %d bytes", inm, rec.Code, rec.Body.Len())
		}
		if rec.Header().Get("Etag") != etag {
			t.Errorf("304 without the ETag")
		}
	}
	// An identity client revalidating a gzip ETag: same content, 304.
	if rec := do(h, "GET", "http://x/", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("cross-encoding revalidation: %d", rec.Code)
	}
	if rec := do(h, "GET", "http://x/", "If-None-Match", `"other"`); rec.Code != 200 {
		t.Errorf("mismatched ETag: %d", rec.Code)
	}
	if rec := do(h, "GET", "http://x/", "If-Modified-Since", "Tue, 24 Nov 2026 11:59:00 GMT"); rec.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since at Last-Modified: %d", rec.Code)
	}
	if rec := do(h, "GET", "http://x/", "If-Modified-Since", "Tue, 24 Nov 2026 11:58:59 GMT"); rec.Code != 200 {
		t.Errorf("If-Modified-Since before Last-Modified: %d", rec.Code)
	}
}

func checkHead(t *testing.T, h http.Handler, _ *clocktesting.FakeClock, _ *testenv.Revalidator) {
	rec := do(h, "HEAD", "http://x/")
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != itoa(len(homeBody)) || rec.Header().Get("Etag") == "" {
		t.Fatalf("HEAD: %d, %d bytes, headers %v", rec.Code, rec.Body.Len(), rec.Header())
	}
}

func checkRouting(t *testing.T, h http.Handler, _ *clocktesting.FakeClock, _ *testenv.Revalidator) {
	cases := []struct{ target, host, want string }{
		{"/", "shop.example.com", shopBody},
		{"/", "SHOP.example.com:8080", shopBody},
		{"/", "shop.example.com.", shopBody},
		{"/", "other.example.com", homeBody},
		{"/lazy?utm=1", "shop.example.com", lazyBody},
	}
	for _, c := range cases {
		req := httptest.NewRequest("GET", c.target, nil)
		req.Host = c.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Body.String() != c.want {
			t.Errorf("%s %s = %q, want %q", c.host, c.target, rec.Body.String(), c.want)
		}
	}
	for _, target := range []string{"http://x/nope", "http://x/lazy/", "http://shop.example.com/unknown"} {
		if rec := do(h, "GET", target); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", target, rec.Code)
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		rec := do(h, m, "http://x/")
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
		wg.Go(func() {
			if rec := do(srv, "GET", "http://x/lazy"); rec.Code != 200 {
				t.Errorf("stale hit: %d", rec.Code)
			}
		})
	}
	wg.Wait()
	waitFor(t, func() bool { return rv.Calls() >= 1 })
	if n := rv.Calls(); n != 1 {
		t.Fatalf("%d re-render requests for one stale rendition, want 1", n)
	}
	if !rv.Asked("stale-" + itoa(int(t0.Unix()))) {
		t.Error("token is not derived from the render time")
	}
	// Once the page carries the token (as seen by another replica), no
	// replica asks again.
	p, obj := testPage("lazy", "", "/lazy", lazyBody, time.Minute, pagesv1alpha1.RevalidateOnRequest)
	p.Annotations = map[string]string{pagesv1alpha1.RevalidateAnnotation: "stale-" + itoa(int(t0.Unix()))}
	h.Table.Put(mustEntry(t, p, obj))
	do(srv, "GET", "http://x/lazy")
	// A new render makes a new rendition, which may ask once more.
	p.Status.RenderedAt = &metav1.Time{Time: t0.Add(2 * time.Minute)}
	h.Table.Put(mustEntry(t, p, obj))
	clk.SetTime(t0.Add(4 * time.Minute))
	do(srv, "GET", "http://x/lazy")
	waitFor(t, func() bool { return rv.Calls() >= 2 })
	if n := rv.Calls(); n != 2 {
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
