// Package render fetches a page from its origin and decides whether the
// answer may replace the page being served.
package render

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/tags"
	"github.com/isr-operator/isr-operator/internal/version"
)

// ErrNotFound is what an *Error with reason Withdrawn wraps: the origin says
// the page is gone (404 or 410), and the page is withdrawn, as Next.js'
// notFound does.
var ErrNotFound = errors.New("origin says the page does not exist")

// Error is why a fetch produced no page: the one error Fetch returns. The
// last good page must stay served whatever the reason.
type Error struct {
	// Reason is the Ready condition reason it maps to (a Reason* constant of
	// api/v1alpha1).
	Reason string
	// Retryable is true when trying again later may succeed (a failure),
	// false when the origin gave a final answer (the page is withdrawn).
	Retryable bool
	// Err is what went wrong.
	Err error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// failure is a retryable *Error with reason.
func failure(reason string, err error) *Error {
	return &Error{Reason: reason, Retryable: true, Err: err}
}

// Page is a body the origin served successfully.
type Page struct {
	// Body is the page as the origin sent it (decoded from any transfer or
	// content encoding).
	Body []byte
	// ContentType is the origin's Content-Type, or a sniffed one.
	ContentType string
	// Digest is "sha256:<hex>" of Body.
	Digest string
	// Tags are the valid tags in the Fetcher's TagHeaders of the answer
	// (tags.FromHeaders); DroppedTags counts those left out.
	Tags        []string
	DroppedTags int
	// FinalURL is the URL of the answer when the fetch followed redirects
	// to it; "" when the URL fetched answered itself.
	FinalURL string
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
	// TagHeaders name the response headers the page's origin tags are read
	// from; nil reads none.
	TagHeaders []string
}

// Fetch GETs url within timeout and returns the page or an *Error (with
// reason Withdrawn, wrapping ErrNotFound, when the origin says 404 or 410).
// It never returns a page built from a failed answer.
func (f *Fetcher) Fetch(ctx context.Context, url string, timeout time.Duration) (*Page, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, failure(pagesv1alpha1.ReasonOriginError, fmt.Errorf("building request for %s: %w", url, err))
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
		return nil, &Error{Reason: pagesv1alpha1.ReasonWithdrawn, Err: fmt.Errorf("origin %s answered %s: %w", url, resp.Status, ErrNotFound)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, failure(pagesv1alpha1.ReasonOriginError, fmt.Errorf("origin %s answered %s", url, resp.Status))
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
		return nil, failure(pagesv1alpha1.ReasonInvalidBody, fmt.Errorf("origin %s answered %s with an empty body", url, resp.Status))
	}
	if ct == "" {
		ct = http.DetectContentType(body)
		if !f.ContentTypes.Allows(ct) {
			return nil, contentTypeRefused(url, ct)
		}
	}
	page := &Page{Body: body, ContentType: ct, Digest: digest.Of(body)}
	if resp.Request != nil && resp.Request != req {
		// The client sets the last request of a redirect chain on the
		// answer; without redirects it is req itself.
		page.FinalURL = resp.Request.URL.String()
	}
	var values []string
	for _, h := range f.TagHeaders {
		values = append(values, resp.Header.Values(h)...)
	}
	page.Tags, page.DroppedTags = tags.FromHeaders(values)
	return page, nil
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
	return failure(pagesv1alpha1.ReasonBodyTooLarge, fmt.Errorf("origin %s sent a body over the %d-byte cap (--max-body-size)", url, limit))
}

func contentTypeRefused(url, ct string) error {
	return failure(pagesv1alpha1.ReasonContentTypeRefused, fmt.Errorf("origin %s answered with content type %q, which is not allowed; allow it with --allowed-content-types", url, ct))
}

// classify turns a transport error into a refused, timeout or unreachable
// failure.
func classify(ctx context.Context, url string, err error) error {
	var refused *RefusedError
	switch {
	case errors.As(err, &refused), errors.Is(err, errRedirectScheme):
		return failure(pagesv1alpha1.ReasonOriginRefused, fmt.Errorf("fetching origin %s: %w", url, err))
	case errors.Is(err, errTooManyRedirects):
		return failure(pagesv1alpha1.ReasonOriginError, fmt.Errorf("fetching origin %s: %w", url, err))
	}
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return failure(pagesv1alpha1.ReasonOriginTimeout, fmt.Errorf("origin %s did not answer in time: %w", url, err))
	}
	return failure(pagesv1alpha1.ReasonOriginUnreachable, fmt.Errorf("fetching origin %s: %w", url, err))
}
