package purge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// The Cloudflare contract, from Cloudflare's API documentation:
//   - https://developers.cloudflare.com/api/go/resources/cache/methods/purge :
//     POST /zones/{zone_id}/purge_cache, a JSON body with "tags" or
//     "files", answered with the v4 envelope {"success", "errors",
//     "messages", "result": {"id"}};
//   - https://developers.cloudflare.com/cache/how-to/purge-cache/ (purge
//     limits): at most 100 tags or URLs per request, and a token bucket per
//     account;
//   - https://developers.cloudflare.com/fundamentals/api/reference/limits/ :
//     API tokens sent as Authorization: Bearer, and a rate-limited call
//     answered 429 with Retry-After, the seconds until capacity is back.
const (
	cfZone  = "023e105f4ecef8ad9ca31a8372d0c353"
	cfToken = "cf-token"
)

// cloudflareAPI is the contract of Cloudflare's purge endpoint.
func cloudflareAPI(t *testing.T) *contract {
	envelope := func(ok bool, code int, msg string) map[string]any {
		errs := []any{}
		if !ok {
			errs = append(errs, map[string]any{"code": code, "message": msg})
		}
		return map[string]any{"success": ok, "errors": errs, "messages": []any{}, "result": map[string]any{"id": "purge-1"}}
	}
	return &contract{
		t: t,
		check: func(r *http.Request) (int, any) {
			if r.Method != http.MethodPost || r.URL.Path != "/client/v4/zones/"+cfZone+"/purge_cache" {
				return http.StatusNotFound, envelope(false, 7003, "no route for that URI")
			}
			if r.Header.Get("Authorization") != "Bearer "+cfToken {
				return http.StatusForbidden, envelope(false, 10000, "Authentication error")
			}
			var body map[string][]string
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body) != 1 {
				return http.StatusBadRequest, envelope(false, 1012, "request must contain one of purge_everything, files, tags, hosts or prefixes")
			}
			for _, items := range body {
				if len(items) == 0 || len(items) > 100 {
					return http.StatusBadRequest, envelope(false, 1015, fmt.Sprintf("%d items: up to 100 per request", len(items)))
				}
			}
			return http.StatusOK, envelope(true, 0, "")
		},
		retryAfter: "3",
		limited:    envelope(false, 971, "Please wait and consider throttling your request speed"),
	}
}

func TestCloudflarePurge(t *testing.T) {
	ctx := context.Background()
	api := cloudflareAPI(t)
	srv := api.start()
	cf, err := NewCloudflare(srv.Client(), srv.URL+"/client/v4", cfZone, map[string][]byte{"apiToken": []byte(cfToken + "\n")}, "apiToken")
	if err != nil {
		t.Fatal(err)
	}
	tags, urls := cf.Limits()
	if tags != 100 || urls != 100 {
		t.Fatalf("Limits = %d, %d; Cloudflare takes 100 of each", tags, urls)
	}

	many := make([]string, 100)
	for i := range many {
		many[i] = fmt.Sprintf("isr_page_shop_p-%d", i)
	}
	if err := cf.Tags(ctx, many); err != nil {
		t.Fatalf("purging 100 tags: %v", err)
	}
	if err := cf.URLs(ctx, []HostPath{{Host: "shop.example.com", Path: "/products/42"}}); err != nil {
		t.Fatalf("purging a URL: %v", err)
	}
	if _, body := api.last(); body != `{"files":["https://shop.example.com/products/42"]}` {
		t.Fatalf("URL purge body = %s, want the files", body)
	}

	t.Run("over the limit is refused, not retried", func(t *testing.T) {
		perr := asError(t, cf.Tags(ctx, append(many, "one-more")))
		if perr.Retryable || perr.Code != http.StatusBadRequest {
			t.Fatalf("error = %+v, want a 400 that is not retried", perr)
		}
	})
	t.Run("rate limited: retryable after Retry-After", func(t *testing.T) {
		api.rateLimited = 1
		perr := asError(t, cf.Tags(ctx, many[:1]))
		if !perr.Retryable || perr.Code != http.StatusTooManyRequests || perr.RetryAfter != 3*time.Second {
			t.Fatalf("error = %+v, want a retryable 429 after 3s", perr)
		}
		if err := cf.Tags(ctx, many[:1]); err != nil {
			t.Fatalf("the retry: %v", err)
		}
	})
	t.Run("a wrong token is refused, not retried", func(t *testing.T) {
		bad, err := NewCloudflare(srv.Client(), srv.URL+"/client/v4", cfZone, map[string][]byte{"apiToken": []byte("wrong")}, "apiToken")
		if err != nil {
			t.Fatal(err)
		}
		perr := asError(t, bad.Tags(ctx, many[:1]))
		if perr.Retryable || perr.Code != http.StatusForbidden {
			t.Fatalf("error = %+v, want a 403 that is not retried", perr)
		}
	})
	t.Run("no token in the Secret", func(t *testing.T) {
		if _, err := NewCloudflare(srv.Client(), "", cfZone, map[string][]byte{}, "apiToken"); err == nil {
			t.Fatal("a client without a token")
		}
	})
}
