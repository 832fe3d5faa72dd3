package server

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestServeAllocatesNothing keeps the hit paths free of allocations (net/http's
// own are apart): every one is paid for on every request.
func TestServeAllocatesNothing(t *testing.T) {
	h, clk, rv, etag := allocHandler(t)
	cases := []struct {
		name, target string
		hdr          []string
		at           time.Duration
	}{
		{"identity", "http://x/", nil, 10 * time.Second},
		{"gzip", "http://x/", []string{"Accept-Encoding", "gzip, deflate"}, 10 * time.Second},
		{"br", "http://x/", []string{"Accept-Encoding", "gzip, deflate, br, zstd"}, 10 * time.Second},
		{"304", "http://x/", []string{"If-None-Match", `"other", ` + etag}, 10 * time.Second},
		{"If-Modified-Since", "http://x/", []string{"If-Modified-Since", "Tue, 24 Nov 2026 11:59:00 GMT"}, 10 * time.Second},
		{"stale", "http://x/", nil, 2 * time.Minute},
		{"stale OnRequest", "http://x/lazy", nil, 2 * time.Minute},
		{"on demand", "http://x/manual", nil, 48 * time.Hour},
		{"HEAD", "http://x/", nil, 10 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk.SetTime(t0.Add(c.at))
			method := "GET"
			if c.name == "HEAD" {
				method = "HEAD"
			}
			req := httptest.NewRequest(method, c.target, nil)
			for i := 0; i+1 < len(c.hdr); i += 2 {
				req.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			w := &discardWriter{h: http.Header{}}
			// The first request fills the per-second values and, when
			// stale, asks for the re-render.
			h.ServeHTTP(w, req)
			if c.name == "stale OnRequest" {
				<-rv.called
			}
			if n := testing.AllocsPerRun(100, func() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}); n != 0 {
				t.Errorf("%.1f allocations per request, want 0", n)
			}
		})
	}
}

// allocHandler is the header table's handler for the allocation counts
// (skipped with -short), with the ETag of its brotli home page. Its
// re-render requests wait until the test ends, so that their goroutines
// allocate nothing while requests are counted; each shows on rv.called.
func allocHandler(t *testing.T) (h *Handler, clk *clocktesting.FakeClock, rv *blockingRevalidator, etag string) {
	t.Helper()
	if testing.Short() {
		t.Skip("counts allocations")
	}
	h, clk, _ = newTestHandler(t)
	rv = &blockingRevalidator{called: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(func() { close(rv.release) })
	h.Revalidator = rv
	etag = do(h, "GET", "http://x/", "Accept-Encoding", "br").Header().Get("Etag")
	return h, clk, rv, etag
}

// blockingRevalidator signals a call on called and returns once release is
// closed.
type blockingRevalidator struct {
	called, release chan struct{}
}

func (b *blockingRevalidator) Revalidate(context.Context, types.NamespacedName, string) error {
	b.called <- struct{}{}
	<-b.release
	return nil
}

func TestIsToken(t *testing.T) {
	at := time.Unix(1763900000, 5e8)
	e := &Entry{renderedAt: at.UnixNano()}
	if !isToken(e.RevalidateToken(), at) {
		t.Errorf("%q is not the token of its own render", e.RevalidateToken())
	}
	for _, a := range []string{"", "stale-", "stale-1763900001", "stale-17639000000", "1763900000", "x-1763900000", "stale-+1763900000"} {
		if isToken(a, at) {
			t.Errorf("%q taken for the token of a render at %d", a, at.Unix())
		}
	}
	if pre := (&Entry{renderedAt: time.Unix(-5, 0).UnixNano()}).RevalidateToken(); !isToken(pre, time.Unix(-5, 0)) {
		t.Errorf("%q is not the token of its own render", pre)
	}
}

func TestValueCache(t *testing.T) {
	var c valueCache
	calls := 0
	format := func(k int64) string { calls++; return formatAge(k) }
	for _, k := range []int64{7, 7, 7 + valueCacheSlots, 7, -3, -3, 1 << 40} {
		if got := c.get(k, format); len(got) != 1 || got[0] != formatAge(k) {
			t.Fatalf("get(%d) = %q", k, got)
		}
	}
	// 7 twice from the cache, -3 once; 7 again after its slot was taken.
	if calls != 5 {
		t.Errorf("%d formats, want 5", calls)
	}
	for _, tt := range []struct {
		ttl   time.Duration
		stale bool
		want  string
	}{
		{50 * time.Second, false, "isr-operator; hit; ttl=50"},
		{500 * time.Millisecond, false, "isr-operator; hit; ttl=0"},
		{0, true, "isr-operator; hit; ttl=0; detail=stale"},
		{-500 * time.Millisecond, true, "isr-operator; hit; ttl=0; detail=stale"},
		{-30 * time.Second, true, "isr-operator; hit; ttl=-30; detail=stale"},
	} {
		if got := cacheStatus(tt.stale, tt.ttl, true)[0]; got != tt.want {
			t.Errorf("cacheStatus(%v, %v) = %q, want %q", tt.stale, tt.ttl, got, tt.want)
		}
	}
}

// fastRequest is a request as the fasthttp page server hands it over,
// read from raw.
func fastRequest(t testing.TB, raw string) *fasthttp.RequestCtx {
	t.Helper()
	var req fasthttp.Request
	// Read with the page listener's buffer, which bounds the request
	// line and headers there.
	if err := req.Read(bufio.NewReaderSize(strings.NewReader(raw), DefaultConnLimits().readBufferSize())); err != nil {
		t.Fatal(err)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, nil, nil)
	return ctx
}

// TestFastServeAllocatesNothing keeps fasthttp's hit paths free of
// allocations in our code, as TestServeAllocatesNothing does net/http's.
func TestFastServeAllocatesNothing(t *testing.T) {
	h, clk, rv, etag := allocHandler(t)
	f := &fastPages{h: h, shutdown: &Shutdown{}, base: context.Background()}
	cases := []struct {
		name, raw string
		at        time.Duration
		code      int
	}{
		{"identity", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10 * time.Second, 200},
		{"gzip", "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n\r\n", 10 * time.Second, 200},
		{"br", "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n\r\n", 10 * time.Second, 200},
		{"304", "GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\", " + etag + "\r\n\r\n", 10 * time.Second, 304},
		{"If-Modified-Since", "GET / HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Tue, 24 Nov 2026 11:59:00 GMT\r\n\r\n", 10 * time.Second, 304},
		{"stale", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2 * time.Minute, 200},
		{"stale OnRequest", "GET /lazy HTTP/1.1\r\nHost: x\r\n\r\n", 2 * time.Minute, 200},
		{"on demand", "GET /manual?utm=1 HTTP/1.1\r\nHost: x\r\n\r\n", 48 * time.Hour, 200},
		{"HEAD", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", 10 * time.Second, 200},
		{"draining", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 10 * time.Second, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk.SetTime(t0.Add(c.at))
			f.shutdown.draining.Store(c.name == "draining")
			ctx := fastRequest(t, c.raw)
			f.serve(ctx)
			if c.name == "stale OnRequest" {
				<-rv.called
			}
			if got := ctx.Response.StatusCode(); got != c.code {
				t.Fatalf("status %d, want %d", got, c.code)
			}
			if n := testing.AllocsPerRun(100, func() {
				ctx.Response.Reset()
				f.serve(ctx)
			}); n != 0 {
				t.Errorf("%.1f allocations per request, want 0", n)
			}
		})
	}
}
