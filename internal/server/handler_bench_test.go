package server

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// benchHandler serves a 20 KiB page among 1000 routes.
func benchHandler(b *testing.B) (*Handler, func(time.Time)) {
	h, clk, _ := newTestHandler(b)
	body := strings.Repeat("<p>Incremental static regeneration.</p>\n", 512)
	for i := range 1000 {
		h.Table.Put(newTestEntry(b, "p"+itoa(i), "", "/products/"+itoa(i), body, time.Minute, pagesv1alpha1.RevalidateInterval))
	}
	return h, clk.SetTime
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func runBench(b *testing.B, h http.Handler, req *http.Request) {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

func BenchmarkServeFresh(b *testing.B) {
	h, _ := benchHandler(b)
	runBench(b, h, httptest.NewRequest("GET", "http://x/products/500", nil))
}

func BenchmarkServeStale(b *testing.B) {
	h, setTime := benchHandler(b)
	setTime(t0.Add(time.Hour))
	runBench(b, h, httptest.NewRequest("GET", "http://x/products/500", nil))
}

func BenchmarkServeGzip(b *testing.B) {
	h, _ := benchHandler(b)
	req := httptest.NewRequest("GET", "http://x/products/500", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	runBench(b, h, req)
}

// BenchmarkServeBrotli is what browsers ask for.
func BenchmarkServeBrotli(b *testing.B) {
	h, _ := benchHandler(b)
	req := httptest.NewRequest("GET", "http://x/products/500", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	runBench(b, h, req)
}

func BenchmarkServeNotModified(b *testing.B) {
	h, _ := benchHandler(b)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://x/products/500", nil))
	req := httptest.NewRequest("GET", "http://x/products/500", nil)
	req.Header.Set("If-None-Match", rec.Header().Get("Etag"))
	runBench(b, h, req)
}

// BenchmarkServeStaleOnRequest is a stale hit on a page whose re-render was
// already asked for: what every visitor gets until the new render lands.
func BenchmarkServeStaleOnRequest(b *testing.B) {
	h, setTime := benchHandler(b)
	body := strings.Repeat("<p>Incremental static regeneration.</p>\n", 512)
	h.Table.Put(newTestEntry(b, "lazy-bench", "", "/lazy-bench", body, time.Minute, pagesv1alpha1.RevalidateOnRequest))
	setTime(t0.Add(time.Hour))
	req := httptest.NewRequest("GET", "http://x/lazy-bench", nil)
	h.ServeHTTP(httptest.NewRecorder(), req)
	runBench(b, h, req)
}

// BenchmarkServeHTTP1 serves the identity page through net/http over one
// keep-alive loopback connection, with a client that allocates nothing, so
// allocs/op is what net/http and the handler allocate per request together
// (the handler's own share is BenchmarkServeFresh's).
func BenchmarkServeHTTP1(b *testing.B) { benchLoopback(b, netHTTP) }

// BenchmarkServeFastHTTP1 is BenchmarkServeHTTP1 through fasthttp.
func BenchmarkServeFastHTTP1(b *testing.B) { benchLoopback(b, fastHTTP) }

// benchLoopback serves the identity page through the page server kind
// over one keep-alive loopback connection.
func benchLoopback(b *testing.B, kind string) {
	h, _ := benchHandler(b)
	conn, err := net.Dial("tcp", startPageServer(b, kind, h, DefaultConnLimits()))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	req := []byte("GET /products/500 HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\n\r\n")
	buf := make([]byte, 64<<10)
	roundTrip := func() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		n, want := 0, -1
		for want < 0 || n < want {
			m, err := conn.Read(buf[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += m
			if want < 0 {
				want = responseLen(buf[:n])
			}
		}
	}
	roundTrip()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip()
	}
}

// runFastBench serves raw with the fasthttp page handler, without a
// connection: allocs/op is our code's share of a fasthttp request.
func runFastBench(b *testing.B, h *Handler, raw string) {
	f := &fastPages{h: h, shutdown: &Shutdown{}, base: context.Background()}
	ctx := fastRequest(b, raw)
	f.serve(ctx)
	if code := ctx.Response.StatusCode(); code != http.StatusOK && code != http.StatusNotModified {
		b.Fatalf("status %d", code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Response.Reset()
		f.serve(ctx)
	}
}

func BenchmarkFastServeFresh(b *testing.B) {
	h, _ := benchHandler(b)
	runFastBench(b, h, "GET /products/500 HTTP/1.1\r\nHost: x\r\n\r\n")
}

func BenchmarkFastServeGzip(b *testing.B) {
	h, _ := benchHandler(b)
	runFastBench(b, h, "GET /products/500 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n\r\n")
}

func BenchmarkFastServeBrotli(b *testing.B) {
	h, _ := benchHandler(b)
	runFastBench(b, h, "GET /products/500 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n\r\n")
}

func BenchmarkFastServeNotModified(b *testing.B) {
	h, _ := benchHandler(b)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://x/products/500", nil))
	runFastBench(b, h, "GET /products/500 HTTP/1.1\r\nHost: x\r\nIf-None-Match: "+rec.Header().Get("Etag")+"\r\n\r\n")
}

// responseLen is the length of the response at the start of p, once its
// header is complete, else -1.
func responseLen(p []byte) int {
	end := bytes.Index(p, []byte("\r\n\r\n"))
	if end < 0 {
		return -1
	}
	const cl = "\r\nContent-Length: "
	i := bytes.Index(p[:end], []byte(cl))
	if i < 0 {
		return -1
	}
	n := 0
	for _, c := range p[i+len(cl) : end] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return end + 4 + n
}

// BenchmarkNewEntry loads a 20 KiB page as a server does on every new
// content: gunzip, brotli, headers. B/op is what each load allocates.
func BenchmarkNewEntry(b *testing.B) {
	body := strings.Repeat("<p>Incremental static regeneration.</p>\n", 512)
	p, obj := testPage("p", "", "/p", body, time.Minute, pagesv1alpha1.RevalidateInterval)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewEntry(p, obj, policy); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeLongHost is a hit for a host and path as long as real ones:
// route keys past 32 bytes cost the lookup what short ones do not.
func BenchmarkServeLongHost(b *testing.B) {
	h, _ := benchHandler(b)
	body := strings.Repeat("<p>Incremental static regeneration.</p>\n", 512)
	h.Table.Put(newTestEntry(b, "long", "shop.example.com", "/products/category/item-123456", body, time.Minute, pagesv1alpha1.RevalidateInterval))
	runBench(b, h, httptest.NewRequest("GET", "http://shop.example.com:8080/products/category/item-123456", nil))
}
