// Package storage keeps rendered pages where every server replica can read
// them. The controller writes through Writer; servers read through Reader, so
// the serving path does not depend on where pages are kept. Two backends
// implement both: ConfigMaps (a ConfigMap per page) and S3 (any S3-compatible
// bucket, content-addressed by digest). Encode compresses a page once, at
// render, into every representation served.
package storage

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/render"
)

// Backends a --storage flag names; the manager and the servers name the
// same one.
const (
	// BackendConfigMap keeps each page gzipped in a ConfigMap it owns.
	BackendConfigMap = "configmap"
	// BackendS3 keeps pages in an S3-compatible object store, by digest.
	BackendS3 = "s3"
)

// ValidateBackend checks a --storage value ("" is BackendConfigMap) and,
// for s3, the --s3-* flags, in the flags' terms.
func ValidateBackend(backend string, s3 S3Options) error {
	switch backend {
	case "", BackendConfigMap:
		return nil
	case BackendS3:
		return s3.Validate()
	}
	return fmt.Errorf("--storage must be %s or %s, got %q", BackendConfigMap, BackendS3, backend)
}

// ErrNotStored means storage holds no page with the asked-for digest (yet).
var ErrNotStored = errors.New("page not stored")

// ErrTooLarge means the page does not fit in this storage.
var ErrTooLarge = errors.New("page too large for storage")

// ErrConflict means the storage slot is held by something this operator does
// not own, which it will not overwrite.
var ErrConflict = errors.New("storage slot owned by someone else")

// ErrUnavailable means the store cannot be used right now: it is
// unreachable, too slow, failing (5xx), refusing the credentials, or its
// bucket is missing. Nothing is known about the page; callers keep what they
// have, answer 503 and retry later. ErrDenied and ErrNoBucket narrow it down.
var ErrUnavailable = errors.New("object store unavailable")

// ErrDenied means the store refused the credentials or the request (wrong,
// expired or missing credentials, or a bucket policy that does not allow it).
// Errors wrapping ErrDenied also wrap ErrUnavailable.
var ErrDenied = errors.New("object store denied access")

// ErrNoBucket means the configured bucket does not exist. Errors wrapping
// ErrNoBucket also wrap ErrUnavailable.
var ErrNoBucket = errors.New("bucket does not exist")

// ErrCorrupt means the stored body does not hash to the digest it is stored
// under (or cannot be decoded): it was changed, or damaged, after it was
// written, and is not served. Errors wrapping ErrCorrupt also wrap
// ErrNotStored, since the content asked for is not there.
var ErrCorrupt = errors.New("stored page does not match its digest")

// Object is a stored page in the representations its store keeps.
type Object struct {
	// Digest is "sha256:<hex>" of the uncompressed body.
	Digest string
	// ContentType is served with the page.
	ContentType string
	// Identity is the uncompressed body; nil when the store keeps only
	// Gzip (ConfigMaps): Body decodes it then.
	Identity []byte
	// Gzip is the body, gzip-compressed. A store that compresses at render
	// (S3) keeps it only when smaller than the body; ConfigMaps always hold
	// it, as the form they store, and servers do not send it when it is
	// not smaller.
	Gzip []byte
	// Brotli is the body, brotli-compressed; nil when the store keeps no
	// brotli, or brotli is not smaller than gzip and the body.
	Brotli []byte
	// StoredAt is when this content was first stored: the page's
	// Last-Modified, which re-renders of the same content do not move.
	StoredAt time.Time

	// decoded is Gzip decoded, when the store decoded it to check it
	// against Digest, so that Body does not decode it again.
	decoded []byte
}

// Footprint is the bytes of the representations o holds: its body, gzip
// and brotli. For an object Encode made, that is what a server holds in
// memory and serves for the content: a page's status.storedBytes.
func (o *Object) Footprint() int64 {
	return int64(len(o.Identity) + len(o.Gzip) + len(o.Brotli))
}

// Body returns the uncompressed body: Identity, or Gzip decoded when the
// store keeps no Identity, refusing one over limit bytes (limit <= 0: no
// limit).
func (o *Object) Body(limit int64) ([]byte, error) {
	body := o.Identity
	if body == nil {
		body = o.decoded
	}
	if body == nil {
		return Decompress(o.Gzip, limit)
	}
	if limit > 0 && int64(len(body)) > limit {
		return nil, fmt.Errorf("stored page is %d bytes, over %d: %w", len(body), limit, ErrTooLarge)
	}
	return body, nil
}

// Stored is what Put did with a page.
type Stored struct {
	// Changed is false when the same digest was stored already, and Put
	// wrote nothing.
	Changed bool
	// Bytes is the content's footprint: the Footprint of what Encode
	// makes of it, whichever representations the store itself keeps, so
	// that a page counts alike in every backend.
	Bytes int64
}

// Writer is what the controller stores pages with.
type Writer interface {
	// Put stores page as the content of p. It reports Changed=false, and
	// writes nothing, when the same digest is already stored; either way
	// it reports the content's Bytes.
	Put(ctx context.Context, p *pagesv1alpha1.StaticPage, page *render.Page) (Stored, error)
	// Withdraw drops p's stored page, once p has no content any more;
	// removing nothing is not an error. A content-addressed store, whose
	// objects other pages may share, leaves them to its sweep.
	Withdraw(ctx context.Context, p *pagesv1alpha1.StaticPage) error
}

// Reader is what servers load pages with.
type Reader interface {
	// Get returns p's stored page with the given digest, or ErrNotStored.
	Get(ctx context.Context, p *pagesv1alpha1.StaticPage, digest string) (*Object, error)
}

// Store is what the controller needs: it writes pages, and reads back
// whether the content a status points to is still there.
type Store interface {
	Writer
	Reader
	// Has reports whether p's page with the given digest is stored
	// completely, without reading its body where the store can tell
	// otherwise; false means it must be published again.
	Has(ctx context.Context, p *pagesv1alpha1.StaticPage, digest string) (bool, error)
}

// Compress gzips body at the best compression: pages are compressed once
// and served many times.
func Compress(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("compressing page: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing page: %w", err)
	}
	return buf.Bytes(), nil
}

// Decompress gunzips a stored body, refusing one that inflates past limit
// bytes (limit <= 0: no limit).
func Decompress(gz []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("reading stored page: %w", err)
	}
	defer func() { _ = zr.Close() }()
	var r io.Reader = zr
	if limit > 0 {
		r = io.LimitReader(zr, limit+1)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading stored page: %w", err)
	}
	if limit > 0 && int64(len(body)) > limit {
		return nil, fmt.Errorf("stored page inflates past %d bytes: %w", limit, ErrTooLarge)
	}
	return body, nil
}
