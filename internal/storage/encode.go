package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/isr-operator/isr-operator/internal/render"
)

// Encode renders page into every representation worth serving, once: the
// body itself; gzip at the best compression, kept only when smaller than the
// body; and brotli (see Brotli), kept only when smaller than both. It checks
// page.Digest against the body (filling it in when empty) and stamps
// StoredAt with the current time.
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
	br, err := Brotli(body)
	if err != nil {
		return nil, err
	}
	if len(br) < smallest {
		o.Brotli = br
	}
	return o, nil
}
