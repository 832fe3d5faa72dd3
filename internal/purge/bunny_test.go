package purge

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// The bunny.net contract, from its API documentation:
//   - https://docs.bunny.net/cdn/purge-cache : POST
//     /pullzone/{id}/purgeCache with {"CacheTag": "<tag>"} purges the
//     files whose CDN-Tag carries it; its API reference
//     (https://docs.bunny.net/reference/pullzonepublic_purgecachepostbytag)
//     takes one CacheTag, a string: one tag per request, no batch;
//   - https://docs.bunny.net/reference/purgepublic_indexpost : POST
//     /purge?url=<url> purges one URL (exactPath=true: a URL ending in
//     "/" only itself), waiting unless async=true;
//   - both authenticated by an AccessKey header;
//   - https://docs.bunny.net/docs/cdn-api-purge-rate-limits : purges are
//     rate-limited per account by a token bucket, answered 429 Too Many
//     Requests with guidance on when to retry (the page names no header;
//     the stand-in sends a Retry-After, which the client honours).
const bunnyKey = "bunny-key"

func bunnyAPI(t *testing.T) *contract {
	return &contract{
		t: t,
		check: func(r *http.Request) (int, any) {
			if r.Method != http.MethodPost {
				return http.StatusMethodNotAllowed, nil
			}
			if r.Header.Get("AccessKey") != bunnyKey {
				return http.StatusUnauthorized, map[string]string{"Message": "Authorization has been denied for this request."}
			}
			switch r.URL.Path {
			case "/pullzone/12345/purgeCache":
				var body map[string]string
				if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["CacheTag"] == "" || len(body) != 1 {
					return http.StatusBadRequest, map[string]string{"Message": "CacheTag"}
				}
				return http.StatusNoContent, nil
			case "/purge":
				if r.URL.Query().Get("url") == "" {
					return http.StatusBadRequest, map[string]string{"Message": "url is required"}
				}
				return http.StatusOK, nil
			}
			return http.StatusNotFound, nil
		},
		retryAfter: "5",
		limited:    map[string]string{"Message": "Too many requests. Retry after 5 seconds."},
	}
}

func TestBunnyPurge(t *testing.T) {
	ctx := context.Background()
	api := bunnyAPI(t)
	srv := api.start()
	b, err := NewBunny(srv.Client(), srv.URL, 12345, map[string][]byte{"accessKey": []byte(bunnyKey)}, "accessKey")
	if err != nil {
		t.Fatal(err)
	}
	if tags, urls := b.Limits(); tags != 1 || urls != 1 {
		t.Fatalf("Limits = %d, %d; bunny.net takes one of each", tags, urls)
	}
	if err := b.Tags(ctx, []string{"isr_page_shop_a"}); err != nil {
		t.Fatal(err)
	}
	if _, body := api.last(); body != `{"CacheTag":"isr_page_shop_a"}` {
		t.Fatalf("body = %s", body)
	}
	if err := b.URLs(ctx, []HostPath{{Host: "shop.example.com", Path: "/"}}); err != nil {
		t.Fatal(err)
	}
	r, _ := api.last()
	if q := r.URL.Query(); q.Get("url") != "https://shop.example.com/" || q.Get("exactPath") != "true" || q.Get("async") == "true" {
		t.Fatalf("URL purge query = %s", r.URL.RawQuery)
	}
	t.Run("rate limited: retryable after Retry-After", func(t *testing.T) {
		api.rateLimited = 1
		perr := asError(t, b.Tags(ctx, []string{"a"}))
		if !perr.Retryable || perr.Code != http.StatusTooManyRequests || perr.RetryAfter != 5*time.Second {
			t.Fatalf("error = %+v, want a retryable 429 after 5s", perr)
		}
	})
	t.Run("a wrong key is refused, not retried", func(t *testing.T) {
		bad, err := NewBunny(srv.Client(), srv.URL, 12345, map[string][]byte{"accessKey": []byte("wrong")}, "accessKey")
		if err != nil {
			t.Fatal(err)
		}
		perr := asError(t, bad.Tags(ctx, []string{"a"}))
		if perr.Retryable || perr.Code != http.StatusUnauthorized {
			t.Fatalf("error = %+v, want a 401 that is not retried", perr)
		}
	})
}
