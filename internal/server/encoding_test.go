package server

import (
	"bytes"
	"io"
	"math/rand"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestBrotliWindow(t *testing.T) {
	for _, tt := range []struct{ n, want int }{
		{0, 16}, {1, 16}, {20 << 10, 16}, {1<<16 - 16, 16},
		{1<<16 - 15, 18}, {1<<18 - 16, 18}, {1<<18 - 15, 19},
		{4 << 20, 23}, {1<<24 - 16, 24}, {64 << 20, 24},
	} {
		if got := brotliWindow(tt.n); got != tt.want {
			t.Errorf("brotliWindow(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

// TestCompressBrotliRoundTrip checks bodies on both sides of the small
// window.
func TestCompressBrotliRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	noise := make([]byte, 200<<10)
	rnd.Read(noise)
	html := strings.Repeat("<p>Incremental static regeneration.</p>\n", 5000)
	for _, body := range [][]byte{
		[]byte(html[:20<<10]),
		[]byte(html[:1<<16-16]),
		[]byte(html[:1<<16-15]),
		[]byte(html),
		append([]byte(html[:30<<10]), noise[:30<<10]...),
	} {
		br := compressBrotli(body, len(body))
		if br == nil {
			t.Fatalf("%d bytes: no brotli copy", len(body))
		}
		if cap(br) != len(br) {
			t.Errorf("%d bytes: brotli copy holds %d spare bytes", len(body), cap(br)-len(br))
		}
		got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br)))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: round trip failed: %v", len(body), err)
		}
	}
}

// TestCompressBrotliAllocs guards the window choice: a 20 KiB page must not
// allocate brotli's 32 MiB hasher.
func TestCompressBrotliAllocs(t *testing.T) {
	body := []byte(strings.Repeat("<p>Incremental static regeneration.</p>\n", 512))
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			compressBrotli(body, len(body))
		}
	})
	if got := float64(res.AllocedBytesPerOp()); got > 2<<20 {
		t.Errorf("compressing a 20 KiB page allocates %.0f bytes, want under 2 MiB", got)
	}
}
