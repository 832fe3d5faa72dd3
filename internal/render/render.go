// Package render fetches a page from its origin and decides whether the
// answer may replace the page being served.
package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/isr-operator/isr-operator/internal/version"
)

// Outcome classifies an origin answer that is not a page.
type Outcome string

const (
	// Unreachable: the connection failed (refused, reset, DNS).
	Unreachable Outcome = "OriginUnreachable"
	// Timeout: the origin did not answer, body included, within the timeout.
	Timeout Outcome = "OriginTimeout"
	// BadStatus: the origin answered with a status other than 2xx, 404 or 410.
	BadStatus Outcome = "OriginError"
	// TooLarge: the body is over the size cap.
	TooLarge Outcome = "BodyTooLarge"
	// InvalidBody: the body cannot be a page (empty).
	InvalidBody Outcome = "InvalidBody"
	// Refused: the origin, or a redirect, leads to an address or scheme the
	// guard refuses.
	Refused Outcome = "OriginRefused"
	// ContentTypeRefused: the origin answered with a content type not in
	// --allowed-content-types.
	ContentTypeRefused Outcome = "ContentTypeRefused"
)

// ErrNotFound is returned when the origin says the page is gone (404 or
// 410): the page is withdrawn, as Next.js' notFound does.
var ErrNotFound = errors.New("origin says the page does not exist")

// Error is an origin failure: the last good page must stay.
type Error struct {
	// Outcome is the class of failure, used as the condition reason.
	Outcome Outcome
	// Err is what went wrong.
	Err error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Page is a body the origin served successfully.
type Page struct {
	// Body is the page as the origin sent it (decoded from any transfer or
	// content encoding).
	Body []byte
	// ContentType is the origin's Content-Type, or a sniffed one.
	ContentType string
	// Digest is "sha256:<hex>" of Body.
	Digest string
}

// Fetcher renders pages by GETting their origin.
type Fetcher struct {
	// Client makes the requests; its Timeout is ignored in favour of the
	// per-page timeout.
	Client *http.Client
	// MaxBodyBytes caps a body; a larger one fails with TooLarge.
	MaxBodyBytes int64
	// ContentTypes are the allowed content types; nil allows any.
	ContentTypes *ContentTypes
}

// Fetch GETs url within timeout and returns the page, ErrNotFound, or an
// *Error. It never returns a page built from a failed answer.
func (f *Fetcher) Fetch(ctx context.Context, url string, timeout time.Duration) (*Page, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &Error{Outcome: BadStatus, Err: fmt.Errorf("building request for %s: %w", url, err)}
	}
	req.Header.Set("User-Agent", version.UserAgent())
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	client := f.Client
	if client == nil {
		client = NewClient(ClientOptions{})
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, classify(ctx, url, err)
	}
	defer func() { _ = resp.Body.Close() }()

	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, ErrNotFound
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &Error{Outcome: BadStatus, Err: fmt.Errorf("origin %s answered %s", url, resp.Status)}
	}
	ct := resp.Header.Get("Content-Type")
	if ct != "" && !f.ContentTypes.Allows(ct) {
		// Refused on the header alone: a body that cannot be served is not
		// worth reading, and the reason is its type whatever its size.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, contentTypeRefused(url, ct)
	}
	if f.MaxBodyBytes > 0 && resp.ContentLength > f.MaxBodyBytes {
		return nil, tooLarge(url, f.MaxBodyBytes)
	}
	body, err := readCapped(resp.Body, f.MaxBodyBytes)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, tooLarge(url, f.MaxBodyBytes)
		}
		return nil, classify(ctx, url, err)
	}
	if len(body) == 0 {
		return nil, &Error{Outcome: InvalidBody, Err: fmt.Errorf("origin %s answered %s with an empty body", url, resp.Status)}
	}
	if ct == "" {
		ct = http.DetectContentType(body)
		if !f.ContentTypes.Allows(ct) {
			return nil, contentTypeRefused(url, ct)
		}
	}
	return &Page{Body: body, ContentType: ct, Digest: Digest(body)}, nil
}

// Digest is the content address of a body: "sha256:<hex>".
func Digest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

var errTooLarge = errors.New("body over the size cap")

// readCapped reads r to the end, failing once more than limit bytes arrive
// (limit <= 0 means no cap), so a hostile origin cannot exhaust memory.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		return io.ReadAll(r)
	}
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, errTooLarge
	}
	return body, nil
}

func tooLarge(url string, limit int64) error {
	return &Error{Outcome: TooLarge, Err: fmt.Errorf("origin %s sent a body over the %d-byte cap (--max-body-size)", url, limit)}
}

func contentTypeRefused(url, ct string) error {
	return &Error{Outcome: ContentTypeRefused, Err: fmt.Errorf("origin %s answered with content type %q, which is not allowed; allow it with --allowed-content-types", url, ct)}
}

// classify turns a transport error into a refused, timeout or unreachable
// failure.
func classify(ctx context.Context, url string, err error) error {
	var refused *RefusedError
	switch {
	case errors.As(err, &refused), errors.Is(err, errRedirectScheme):
		return &Error{Outcome: Refused, Err: fmt.Errorf("fetching origin %s: %w", url, err)}
	case errors.Is(err, errTooManyRedirects):
		return &Error{Outcome: BadStatus, Err: fmt.Errorf("fetching origin %s: %w", url, err)}
	}
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &Error{Outcome: Timeout, Err: fmt.Errorf("origin %s did not answer in time: %w", url, err)}
	}
	return &Error{Outcome: Unreachable, Err: fmt.Errorf("fetching origin %s: %w", url, err)}
}
