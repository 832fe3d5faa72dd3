package purge

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FastlyAPI is the base URL of Fastly's API.
const FastlyAPI = "https://api.fastly.com"

// FastlyMaxKeysPerRequest is the most surrogate keys one batch purge
// names, as Fastly documents for POST /service/{service_id}/purge
// (https://www.fastly.com/documentation/reference/api/purging/).
const FastlyMaxKeysPerRequest = 256

// FastlyKeyHeader carries Fastly's API token; FastlySoftPurgeHeader: 1
// asks for a soft purge (objects marked stale, not evicted);
// FastlyRateLimitResetHeader, on Fastly's answers, is when the API's
// rate-limit window resets, in UTC epoch seconds.
const (
	FastlyKeyHeader            = "Fastly-Key"
	FastlySoftPurgeHeader      = "Fastly-Soft-Purge"
	FastlyRateLimitResetHeader = "Fastly-RateLimit-Reset"
)

// Fastly purges one Fastly service through its documented HTTP API: a
// batch surrogate-key purge (POST /service/{service_id}/purge with the
// keys, space-separated, in a Surrogate-Key header), or a URL purge
// (POST /purge/{host}{path}), one URL per request.
//
// Fastly's API documentation (https://docs.fastly.com/api/, "Rate
// limiting") limits non-read requests per hour and user or key, but says
// that surrogate-key and URL purges are not limited (only purge-all counts
// against the limit); a request over the limit is answered 429 Too Many
// Requests, and each answer carries Fastly-RateLimit-Remaining and
// FastlyRateLimitResetHeader. So the purges sent here are not expected to
// be refused for their rate; should a 429 come, it is retried after the
// window's reset (or a Retry-After, if Fastly sends one), within the
// purger's backoff limit.
type Fastly struct {
	hc       *http.Client
	endpoint string
	service  string
	key      string
	soft     bool
}

// NewFastly is the client of service, authenticated by the Secret's
// apiKey, sending with hc to endpoint ("" for FastlyAPI); soft purges
// softly.
func NewFastly(hc *http.Client, endpoint, service string, soft bool, secret map[string][]byte, key string) (*Fastly, error) {
	token, err := credential(secret, key)
	if err != nil {
		return nil, err
	}
	if endpoint == "" {
		endpoint = FastlyAPI
	}
	return &Fastly{hc: hc, endpoint: strings.TrimRight(endpoint, "/"), service: service, key: token, soft: soft}, nil
}

// Limits are Fastly's: a batch of keys, one URL.
func (f *Fastly) Limits() (tags, urls int) { return FastlyMaxKeysPerRequest, 1 }

// Tags purges every object carrying any of the surrogate keys tags.
func (f *Fastly) Tags(ctx context.Context, tags []string) error {
	req, err := f.request(ctx, "/service/"+url.PathEscape(f.service)+"/purge")
	if err != nil {
		return err
	}
	req.Header.Set("Surrogate-Key", strings.Join(tags, " "))
	return f.do(req)
}

// URLs purges the one URL urls holds (Limits says one per request).
func (f *Fastly) URLs(ctx context.Context, hps []HostPath) error {
	urls, err := AbsoluteURLs(hps)
	if err != nil {
		return err
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("purging %q from Fastly: %w", raw, err)
		}
		req, err := f.request(ctx, "/purge/"+u.Host+u.EscapedPath())
		if err != nil {
			return err
		}
		if err := f.do(req); err != nil {
			return err
		}
	}
	return nil
}

func (f *Fastly) request(ctx context.Context, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.endpoint+path, nil)
	if err != nil {
		return nil, fmt.Errorf("building a Fastly purge: %w", err)
	}
	req.Header.Set(FastlyKeyHeader, f.key)
	req.Header.Set("Accept", "application/json")
	if f.soft {
		req.Header.Set(FastlySoftPurgeHeader, "1")
	}
	return req, nil
}

func (f *Fastly) do(req *http.Request) error {
	resp, err := f.hc.Do(req)
	if err != nil {
		return &Error{Retryable: true, Err: fmt.Errorf("purging Fastly service %s: %w", f.service, err)}
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	perr := answerError(resp, fmt.Sprintf("purging Fastly service %s: %s: %s", f.service, resp.Status, strings.TrimSpace(string(body))))
	if resp.StatusCode == http.StatusTooManyRequests && perr.RetryAfter == 0 {
		perr.RetryAfter = fastlyReset(resp.Header.Get(FastlyRateLimitResetHeader), time.Now())
	}
	return perr
}

// fastlyReset is how long from now until v, a Fastly-RateLimit-Reset
// value (UTC epoch seconds); 0 when absent, unreadable or past.
func fastlyReset(v string, now time.Time) time.Duration {
	sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0
	}
	if at := time.Unix(sec, 0); at.After(now) {
		return at.Sub(now)
	}
	return 0
}
