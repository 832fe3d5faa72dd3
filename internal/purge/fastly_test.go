package purge

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Fastly contract, from Fastly's API documentation
// (https://www.fastly.com/documentation/reference/api/purging/):
//   - POST /service/{service_id}/purge purges up to 256 surrogate keys,
//     listed space-separated in a Surrogate-Key request header (or a JSON
//     body), answered 200 with a purge id per key;
//   - POST /purge/{cached_url} purges one URL (host and path);
//   - Fastly-Key: <API token> authenticates; Fastly-Soft-Purge: 1 marks
//     objects stale instead of evicting them;
//   - https://docs.fastly.com/api/ ("Rate limiting"): non-read requests
//     are limited per hour, surrogate-key and URL purges are not (purge-all
//     is); over the limit a request is answered 429 Too Many Requests, and
//     answers carry Fastly-RateLimit-Remaining and Fastly-RateLimit-Reset
//     (when the window resets, in UTC epoch seconds). Fastly documents no
//     Retry-After: a 429 is retried once the window has reset.
const (
	fastlyService = "SU1Z0isxPaozGVKXdv0eY"
	fastlyToken   = "fastly-token"
)

func fastlyAPI(t *testing.T) *contract {
	return &contract{
		t: t,
		check: func(r *http.Request) (int, any) {
			if r.Method != http.MethodPost {
				return http.StatusMethodNotAllowed, map[string]string{"msg": "method not allowed"}
			}
			if r.Header.Get("Fastly-Key") != fastlyToken {
				return http.StatusUnauthorized, map[string]string{"msg": "Provided credentials are missing or invalid"}
			}
			switch {
			case r.URL.Path == "/service/"+fastlyService+"/purge":
				keys := strings.Fields(r.Header.Get("Surrogate-Key"))
				if len(keys) == 0 || len(keys) > 256 {
					return http.StatusBadRequest, map[string]string{"msg": fmt.Sprintf("%d keys: 1 to 256 per request", len(keys))}
				}
				ids := map[string]string{}
				for _, k := range keys {
					ids[k] = "108-1391560174-974124"
				}
				return http.StatusOK, ids
			case strings.HasPrefix(r.URL.Path, "/purge/"):
				return http.StatusOK, map[string]string{"status": "ok", "id": "108-1391560174-974124"}
			}
			return http.StatusNotFound, map[string]string{"msg": "Record not found"}
		},
		limited: map[string]string{"msg": "You have exceeded your rate limit"},
		limitedHeaders: map[string]string{
			"Fastly-RateLimit-Remaining": "0",
			// Ten minutes from now: far enough that the test's own time
			// does not matter.
			"Fastly-RateLimit-Reset": strconv.FormatInt(time.Now().Add(10*time.Minute).Unix(), 10),
		},
	}
}

func TestFastlyPurge(t *testing.T) {
	ctx := context.Background()
	api := fastlyAPI(t)
	srv := api.start()
	secret := map[string][]byte{"apiKey": []byte(fastlyToken)}
	f, err := NewFastly(srv.Client(), srv.URL, fastlyService, true, secret, "apiKey")
	if err != nil {
		t.Fatal(err)
	}
	tags, urls := f.Limits()
	if tags != 256 || urls != 1 {
		t.Fatalf("Limits = %d, %d; Fastly takes 256 keys, one URL", tags, urls)
	}

	keys := make([]string, 256)
	for i := range keys {
		keys[i] = fmt.Sprintf("isr_page_shop_p-%d", i)
	}
	if err := f.Tags(ctx, keys); err != nil {
		t.Fatalf("purging 256 keys: %v", err)
	}
	if r, _ := api.last(); r.Header.Get("Fastly-Soft-Purge") != "1" {
		t.Fatal("a purge is soft by default")
	}
	if err := f.URLs(ctx, []HostPath{{Host: "shop.example.com", Path: "/products/42"}}); err != nil {
		t.Fatalf("purging a URL: %v", err)
	}
	if r, _ := api.last(); r.URL.Path != "/purge/shop.example.com/products/42" {
		t.Fatalf("URL purge path = %s", r.URL.Path)
	}

	t.Run("hard purge when asked", func(t *testing.T) {
		hard, err := NewFastly(srv.Client(), srv.URL, fastlyService, false, secret, "apiKey")
		if err != nil {
			t.Fatal(err)
		}
		if err := hard.Tags(ctx, keys[:1]); err != nil {
			t.Fatal(err)
		}
		if r, _ := api.last(); r.Header.Get("Fastly-Soft-Purge") != "" {
			t.Fatal("softPurge false sends no Fastly-Soft-Purge")
		}
	})
	t.Run("over the limit is refused, not retried", func(t *testing.T) {
		perr := asError(t, f.Tags(ctx, append(keys, "one-more")))
		if perr.Retryable || perr.Code != http.StatusBadRequest {
			t.Fatalf("error = %+v, want a 400 that is not retried", perr)
		}
	})
	t.Run("rate limited: retryable once the window resets", func(t *testing.T) {
		api.rateLimited = 1
		perr := asError(t, f.Tags(ctx, keys[:1]))
		if !perr.Retryable || perr.Code != http.StatusTooManyRequests || perr.RetryAfter <= 9*time.Minute || perr.RetryAfter > 10*time.Minute {
			t.Fatalf("error = %+v, want a retryable 429 after the reset ten minutes away", perr)
		}
	})
	t.Run("rate limited with Retry-After: that is honoured", func(t *testing.T) {
		api.rateLimited, api.retryAfter = 1, "2"
		t.Cleanup(func() { api.retryAfter = "" })
		perr := asError(t, f.Tags(ctx, keys[:1]))
		if !perr.Retryable || perr.RetryAfter != 2*time.Second {
			t.Fatalf("error = %+v, want a retryable 429 after 2s", perr)
		}
	})
	t.Run("a wrong key is refused, not retried", func(t *testing.T) {
		bad, err := NewFastly(srv.Client(), srv.URL, fastlyService, true, map[string][]byte{"apiKey": []byte("wrong")}, "apiKey")
		if err != nil {
			t.Fatal(err)
		}
		perr := asError(t, bad.Tags(ctx, keys[:1]))
		if perr.Retryable || perr.Code != http.StatusUnauthorized {
			t.Fatalf("error = %+v, want a 401 that is not retried", perr)
		}
	})
}

func TestFastlyReset(t *testing.T) {
	now := time.Unix(1452032000, 0)
	for v, want := range map[string]time.Duration{
		"1452032384": 384 * time.Second,
		"1452032000": 0, // now: nothing to wait
		"1452031000": 0, // past
		"":           0,
		"soon":       0,
	} {
		if got := fastlyReset(v, now); got != want {
			t.Errorf("fastlyReset(%q) = %s, want %s", v, got, want)
		}
	}
}
