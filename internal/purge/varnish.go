// Package purge removes changed pages from the CDN in front: a client per
// provider, speaking that provider's documented purge API, and the
// batching, retry and rate-limit rules they share.
package purge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// XkeyPurgeHeader is the request header the xkey module's documented VCL
// example reads the keys to purge from, space-separated
// (https://github.com/varnish/varnish-modules/blob/master/src/vmod_xkey.vcc;
// the VCL shipped in hack/varnish/default.vcl follows it).
const XkeyPurgeHeader = "Xkey-Purge"

// MethodPurge is the request method Varnish VCLs purge on.
const MethodPurge = "PURGE"

// Varnish purges Varnish Cache servers running the xkey VCL.
type Varnish struct {
	// HTTP sends the purges; it must time out.
	HTTP *http.Client
}

// Tags purges every object tagged with any of tags from the Varnish at
// base: one PURGE request with the tags, space-separated, in
// XkeyPurgeHeader. The VCL answers 200 when it purged objects and 404 when
// none carried the tags, which is as good.
func (v *Varnish) Tags(ctx context.Context, base string, tags []string) error {
	req, err := http.NewRequestWithContext(ctx, MethodPurge, strings.TrimRight(base, "/")+"/", nil)
	if err != nil {
		return fmt.Errorf("building a purge of %s: %w", base, err)
	}
	req.Header.Set(XkeyPurgeHeader, strings.Join(tags, " "))
	return v.do(req, http.StatusOK, http.StatusNotFound)
}

// URL purges the object cached for host and path from the Varnish at base:
// PURGE of the path with that Host, which the VCL answers 200.
func (v *Varnish) URL(ctx context.Context, base, host, path string) error {
	req, err := http.NewRequestWithContext(ctx, MethodPurge, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("building a purge of %s%s: %w", base, path, err)
	}
	req.Host = host
	return v.do(req, http.StatusOK, http.StatusNotFound)
}

// do sends req and turns any answer but ok into an *Error.
func (v *Varnish) do(req *http.Request, ok ...int) error {
	resp, err := v.HTTP.Do(req)
	if err != nil {
		return &Error{Retryable: true, Err: fmt.Errorf("purging %s: %w", req.URL.Redacted(), err)}
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if slices.Contains(ok, resp.StatusCode) {
		return nil
	}
	return answerError(resp, fmt.Sprintf("purging %s: %s: %s", req.URL.Redacted(), resp.Status, strings.TrimSpace(string(body))))
}

// Error is a purge the CDN did not acknowledge.
type Error struct {
	// Retryable is true when trying again may succeed: no answer, 429, 5xx.
	Retryable bool
	// Code is the HTTP status the CDN answered; 0 when none came.
	Code int
	// RetryAfter is how long the CDN asked to wait (429 or 503 with
	// Retry-After); 0 when it did not say.
	RetryAfter time.Duration
	// Err is what happened.
	Err error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// answerError is the *Error of a refused answer: 429 and 5xx are retried,
// after Retry-After when the CDN sends one (seconds or an HTTP date).
func answerError(resp *http.Response, msg string) *Error {
	e := &Error{Err: errors.New(msg), Code: resp.StatusCode}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		e.Retryable = true
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// retryAfter parses a Retry-After value (RFC 9110: delay-seconds or an
// HTTP-date) at now; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
