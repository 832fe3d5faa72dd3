package storage

import (
	"bytes"
	"crypto/rand"
	"io"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/render"
)

func page(body []byte) *render.Page {
	return &render.Page{Body: body, ContentType: "text/html; charset=utf-8", Digest: digest.Of(body)}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncode(t *testing.T) {
	html := []byte(strings.Repeat("<p>Incremental static regeneration, compressed once.</p>\n", 400))
	tests := []struct {
		name             string
		body             []byte
		wantGzip, wantBr bool
	}{
		{"html compresses", html, true, true},
		{"tiny body: compression only adds framing", []byte("ok"), false, false},
		{"random bytes do not compress", randomBytes(t, 4096), false, false},
		{"empty body", []byte{}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := page(tt.body)
			o, err := Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			if o.Digest != p.Digest || o.ContentType != p.ContentType || o.StoredAt.IsZero() {
				t.Errorf("metadata = %q %q %v, want %q %q and a time", o.Digest, o.ContentType, o.StoredAt, p.Digest, p.ContentType)
			}
			if !bytes.Equal(o.Identity, tt.body) || o.Identity == nil {
				t.Errorf("identity differs from the body")
			}
			if (o.Gzip != nil) != tt.wantGzip || (o.Brotli != nil) != tt.wantBr {
				t.Fatalf("gzip kept %v, brotli kept %v; want %v, %v", o.Gzip != nil, o.Brotli != nil, tt.wantGzip, tt.wantBr)
			}
			if o.Gzip != nil {
				if len(o.Gzip) >= len(tt.body) {
					t.Errorf("gzip kept at %d bytes, not smaller than the %d-byte body", len(o.Gzip), len(tt.body))
				}
				got, err := Decompress(o.Gzip, 0)
				if err != nil || !bytes.Equal(got, tt.body) {
					t.Errorf("gzip decodes to something else (err %v)", err)
				}
			}
			if o.Brotli != nil {
				if len(o.Brotli) >= len(tt.body) || (o.Gzip != nil && len(o.Brotli) >= len(o.Gzip)) {
					t.Errorf("brotli kept at %d bytes, not smaller than gzip (%d) and body (%d)", len(o.Brotli), len(o.Gzip), len(tt.body))
				}
				got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(o.Brotli)))
				if err != nil || !bytes.Equal(got, tt.body) {
					t.Errorf("brotli decodes to something else (err %v)", err)
				}
			}
			body, err := o.Body(0)
			if err != nil || !bytes.Equal(body, tt.body) {
				t.Errorf("Body() differs from the body (err %v)", err)
			}
		})
	}
}

func TestEncodeRefusesWhatIsNotADigest(t *testing.T) {
	for _, bad := range []string{"", "sha256:abc", "sha256:" + strings.Repeat("A", 64)} {
		p := page([]byte("<h1>hi</h1>"))
		p.Digest = bad
		if o, err := Encode(p); err == nil {
			t.Errorf("Encode with digest %q = %v, want an error", bad, o)
		}
	}
}

// TestEncodeBrotliWindow checks the window: 16 bits up to 64 KiB (brotli's
// small match finder), then the smallest that holds the body, within 18..24
// bits; and that a body needing a large window gets one.
func TestEncodeBrotliWindow(t *testing.T) {
	for _, tt := range []struct{ n, want int }{
		{0, 16}, {1, 16}, {20 << 10, 16}, {1<<16 - 16, 16},
		{1<<16 - 15, 18}, {1<<18 - 16, 18}, {1<<18 - 15, 19},
		{4 << 20, 23}, {1<<24 - 16, 24}, {64 << 20, 24},
	} {
		if got := BrotliWindow(tt.n); got != tt.want {
			t.Errorf("BrotliWindow(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
	// Bodies whose repeats are further apart than a small window need the
	// window to reach them: sized to the body, brotli finds them.
	chunk := randomBytes(t, 40<<10)
	body := append(append([]byte{}, chunk...), chunk...)
	o, err := Encode(page(body))
	if err != nil {
		t.Fatal(err)
	}
	if o.Brotli == nil || len(o.Brotli) > len(chunk)+len(chunk)/10 {
		t.Fatalf("brotli of a repeated 40 KiB chunk is %d bytes; the window should span the repeat", len(o.Brotli))
	}
	got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(o.Brotli)))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("brotli decodes to something else (err %v)", err)
	}
}

// TestBrotliReusesEncoders checks that a reused encoder writes the same
// bytes as a new one, whatever it compressed before, for bodies on both
// sides of the small window; and that reuse is what happens: compressing a
// 20 KiB page allocates little beyond its output, not a new match finder
// each time.
func TestBrotliReusesEncoders(t *testing.T) {
	html := strings.Repeat("<p>Incremental static regeneration.</p>\n", 5000)
	noise := randomBytes(t, 64<<10)
	bodies := [][]byte{
		[]byte(html[:20<<10]),
		append([]byte(html[:10<<10]), noise[:10<<10]...),
		[]byte("<p>hi</p>"),
		[]byte(html[:1<<16-16]),
		[]byte(html[:1<<16-15]),
		[]byte(html),
		[]byte(html[:20<<10]),
	}
	for round := range 2 {
		for _, body := range bodies {
			var fresh bytes.Buffer
			w := brotli.NewWriterOptions(&fresh, brotli.WriterOptions{Quality: brotliQuality, LGWin: BrotliWindow(len(body))})
			if _, err := w.Write(body); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := Brotli(body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, fresh.Bytes()) {
				t.Fatalf("round %d, %d bytes: a reused encoder wrote %d bytes, a new one %d", round, len(body), len(got), fresh.Len())
			}
			if cap(got) != len(got) {
				t.Errorf("%d bytes: the result holds %d spare bytes", len(body), cap(got)-len(got))
			}
			back, err := io.ReadAll(brotli.NewReader(bytes.NewReader(got)))
			if err != nil || !bytes.Equal(back, body) {
				t.Fatalf("%d bytes: round trip failed: %v", len(body), err)
			}
		}
	}

	if raceDetector {
		return // the reuse is counted in allocations, which -race changes
	}
	page := []byte(html[:20<<10])
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Brotli(page); err != nil {
				b.Fatal(err)
			}
		}
	})
	if got := res.AllocedBytesPerOp(); got > 64<<10 {
		t.Errorf("compressing a 20 KiB page allocates %d bytes, want under 64 KiB: the encoder is not reused", got)
	}
}

func TestObjectBody(t *testing.T) {
	body := []byte(strings.Repeat("a", 1000))
	gz, err := Compress(body)
	if err != nil {
		t.Fatal(err)
	}
	fromGzip := &Object{Gzip: gz}
	if got, err := fromGzip.Body(0); err != nil || !bytes.Equal(got, body) {
		t.Errorf("Body from gzip = %d bytes, %v", len(got), err)
	}
	if _, err := fromGzip.Body(999); err == nil {
		t.Errorf("Body from gzip over the limit succeeded")
	}
	if _, err := (&Object{Identity: body}).Body(999); err == nil {
		t.Errorf("Body over the limit succeeded")
	}
}
