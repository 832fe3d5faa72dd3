package server

import (
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
