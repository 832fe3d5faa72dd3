package storage

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/andybalholm/brotli"
)

const (
	// brotliQuality trades compression time, paid once per new content, for
	// bytes saved on every response.
	brotliQuality = 9
	// smallBrotliWindow is the window, in bits, of every body up to 64 KiB.
	// Brotli picks its match finder by window: up to 16 a small hasher,
	// above 16 (at quality 9) a far larger one whose size does not depend
	// on the input's. 16 also has the shortest stream header.
	smallBrotliWindow = 16
	// brotliMaxWindow is the largest window the format allows.
	brotliMaxWindow = 24
)

// BrotliWindow is the window, in bits, for a body of n bytes:
// smallBrotliWindow when the body fits in it, else the smallest window
// holding the whole body (so repeats anywhere in it are found), but at
// least 18 (the default 22's header length) and at most 24.
func BrotliWindow(n int) int {
	if n <= windowBytes(smallBrotliWindow) {
		return smallBrotliWindow
	}
	w := 18
	for w < brotliMaxWindow && windowBytes(w) < n {
		w++
	}
	return w
}

// windowBytes is how far back a brotli window of lgwin reaches.
func windowBytes(lgwin int) int { return 1<<lgwin - 16 }

// brotliEncoder is a writer and its output buffer, reused.
type brotliEncoder struct {
	w   *brotli.Writer
	buf bytes.Buffer
}

// brotliEncoders holds idle encoders by window: a writer keeps the match
// finder its window chose, which even for a small page is most of
// what compressing a page allocates, so a server loading thousands of
// pages, or a manager rendering them, reuses a few instead of collecting
// thousands. The pool lets them go once idle for two collections.
var brotliEncoders [brotliMaxWindow + 1]sync.Pool

// maxPooledBuffer is the largest output buffer kept with an idle encoder;
// a larger one, from a rare large page, is left to the collector.
const maxPooledBuffer = 256 << 10

// Brotli compresses body at quality 9 with the window BrotliWindow picks.
// The result has no spare capacity: pages are held as long as they are
// served.
func Brotli(body []byte) ([]byte, error) {
	lgwin := BrotliWindow(len(body))
	e, _ := brotliEncoders[lgwin].Get().(*brotliEncoder)
	if e == nil {
		e = &brotliEncoder{}
		e.w = brotli.NewWriterOptions(&e.buf, brotli.WriterOptions{Quality: brotliQuality, LGWin: lgwin})
	} else {
		e.w.Reset(&e.buf)
	}
	e.buf.Reset()
	if _, err := e.w.Write(body); err != nil {
		return nil, fmt.Errorf("compressing page with brotli: %w", err)
	}
	if err := e.w.Close(); err != nil {
		return nil, fmt.Errorf("compressing page with brotli: %w", err)
	}
	out := make([]byte, e.buf.Len())
	copy(out, e.buf.Bytes())
	if e.buf.Cap() > maxPooledBuffer {
		e.buf = bytes.Buffer{}
	}
	brotliEncoders[lgwin].Put(e)
	return out, nil
}
