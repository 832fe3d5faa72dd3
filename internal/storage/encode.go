package storage

import (
	"fmt"
	"time"

	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/render"
)

// Encode renders page into every representation worth serving, once: the
// body itself; gzip at the best compression, kept only when smaller than the
// body; and brotli (see Brotli), kept only when smaller than both. The
// object's digest is page.Digest, which the renderer computed from the body
// (digest.Of): Encode refuses one that is not a digest, and stamps StoredAt
// with the current time.
func Encode(page *render.Page) (*Object, error) {
	body := page.Body
	if body == nil {
		body = []byte{}
	}
	if _, err := digest.Parse(page.Digest); err != nil {
		return nil, fmt.Errorf("encoding a page: %w", err)
	}
	o := &Object{
		Digest:      page.Digest,
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
	br, err := Brotli(body)
	if err != nil {
		return nil, err
	}
	if len(br) < smallest {
		o.Brotli = br
	}
	return o, nil
}
