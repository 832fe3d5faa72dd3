package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/bits"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/isr-operator/isr-operator/internal/render"
)

const (
	// brotliQuality trades compression time, paid once per new content at
	// render, for bytes saved on every response.
	brotliQuality = 9
	// brotliMinWindow and brotliMaxWindow bound the brotli window, in bits
	// (the format allows 10 to 24).
	brotliMinWindow = 10
	brotliMaxWindow = 24
)

// Encode renders page into every representation worth serving, once: the
// body itself; gzip at the best compression, kept only when smaller than the
// body; and brotli at quality 9 with a window sized to the body, kept only
// when smaller than both. It checks page.Digest against the body (filling it
// in when empty) and stamps StoredAt with the current time.
func Encode(page *render.Page) (*Object, error) {
	body := page.Body
	if body == nil {
		body = []byte{}
	}
	sum := sha256.Sum256(body)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if page.Digest != "" && page.Digest != digest {
		return nil, fmt.Errorf("page digest %s does not match its body (%s)", page.Digest, digest)
	}
	o := &Object{
		Digest:      digest,
		ContentType: page.ContentType,
		Identity:    body,
		StoredAt:    time.Now().UTC(),
	}
	gz, err := Compress(body)
	if err != nil {
		return nil, err
	}
	smallest := len(body)
	if len(gz) < smallest {
		o.Gzip = gz
		smallest = len(gz)
	}
	br, err := compressBrotli(body)
	if err != nil {
		return nil, err
	}
	if len(br) < smallest {
		o.Brotli = br
	}
	return o, nil
}

// compressBrotli compresses body at brotliQuality with a window just large
// enough for it: a larger one gains nothing and costs the decoder memory.
func compressBrotli(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: brotliQuality, LGWin: brotliWindow(len(body))})
	if _, err := w.Write(body); err != nil {
		return nil, fmt.Errorf("compressing page with brotli: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compressing page with brotli: %w", err)
	}
	return buf.Bytes(), nil
}

// brotliWindow is the brotli window, in bits, for an n-byte body: the
// smallest power of two at least n, clamped to what brotli allows.
func brotliWindow(n int) int {
	w := brotliMinWindow
	if n > 1 {
		w = bits.Len(uint(n - 1))
	}
	return min(max(w, brotliMinWindow), brotliMaxWindow)
}
