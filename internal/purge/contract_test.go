package purge

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// contract is a local stand-in for a provider's purge API: each provider's
// test gives it the documented request shape (check), and it answers the
// first rateLimited requests 429 (with Retry-After or the provider's own
// headers), as the provider's rate limit does, then as check says.
type contract struct {
	t *testing.T
	// check answers one request as the provider would: a status and a
	// JSON body.
	check func(r *http.Request) (int, any)
	// rateLimited is how many requests are answered 429 first, with
	// Retry-After retryAfter and body limited.
	rateLimited int
	retryAfter  string
	limited     any
	// limitedHeaders are more headers of those 429 answers.
	limitedHeaders map[string]string

	mu     sync.Mutex
	seen   []*http.Request
	bodies []string
}

func (c *contract) start() *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		c.mu.Lock()
		c.seen = append(c.seen, r)
		c.bodies = append(c.bodies, string(b))
		limited := c.rateLimited > 0
		if limited {
			c.rateLimited--
		}
		c.mu.Unlock()
		code, body := http.StatusTooManyRequests, c.limited
		if limited {
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			for k, v := range c.limitedHeaders {
				w.Header().Set(k, v)
			}
		} else {
			code, body = c.check(r)
		}
		if raw, ok := body.(rawXML); ok {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, string(raw))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	}))
	c.t.Cleanup(srv.Close)
	return srv
}

// last is the last request the server saw, and its body.
func (c *contract) last() (*http.Request, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) == 0 {
		c.t.Fatal("no request reached the contract server")
	}
	return c.seen[len(c.seen)-1], c.bodies[len(c.bodies)-1]
}

// asError is err as an *Error, failing the test when it is not one.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	perr, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v (%T) is not a *purge.Error", err, err)
	}
	return perr
}
