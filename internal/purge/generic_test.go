package purge

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// The contract of provider http is the one this package documents on
// Generic (and docs/cdn.md): a POST of {"tags": [...]} or {"urls": [...]}
// as application/json, with Authorization: Bearer when a token is set; a
// 2xx answer acknowledges, 429 and 5xx are retried after Retry-After.
func genericAPI(t *testing.T, token string) *contract {
	return &contract{
		t: t,
		check: func(r *http.Request) (int, any) {
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
				return http.StatusBadRequest, map[string]string{"error": "POST application/json"}
			}
			if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
				return http.StatusUnauthorized, map[string]string{"error": "bad token"}
			}
			var body GenericBody
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || (len(body.Tags) == 0) == (len(body.URLs) == 0) {
				return http.StatusBadRequest, map[string]string{"error": "tags or urls"}
			}
			if len(body.Tags) > GenericMaxPerRequest || len(body.URLs) > GenericMaxPerRequest {
				return http.StatusRequestEntityTooLarge, map[string]string{"error": "too many"}
			}
			return http.StatusAccepted, map[string]string{}
		},
		retryAfter: "Wed, 21 Oct 2099 07:28:00 GMT",
		limited:    map[string]string{"error": "slow down"},
	}
}

func TestGenericPurge(t *testing.T) {
	ctx := context.Background()
	api := genericAPI(t, "s3cret")
	srv := api.start()
	g := NewGeneric(srv.Client(), srv.URL+"/purge", map[string][]byte{"token": []byte("s3cret\n")}, "token")
	if err := g.Tags(ctx, []string{"isr_page_shop_a", "isr_page_shop_b"}); err != nil {
		t.Fatal(err)
	}
	if _, body := api.last(); body != `{"tags":["isr_page_shop_a","isr_page_shop_b"]}` {
		t.Fatalf("body = %s", body)
	}
	if err := g.URLs(ctx, []HostPath{{Host: "shop.example.com", Path: "/a"}}); err != nil {
		t.Fatal(err)
	}
	if _, body := api.last(); body != `{"urls":["https://shop.example.com/a"]}` {
		t.Fatalf("body = %s", body)
	}

	t.Run("without a token, no Authorization", func(t *testing.T) {
		open := genericAPI(t, "")
		srv := open.start()
		if err := NewGeneric(srv.Client(), srv.URL, nil, "token").Tags(ctx, []string{"a"}); err != nil {
			t.Fatal(err)
		}
		if r, _ := open.last(); r.Header.Get("Authorization") != "" {
			t.Fatal("an Authorization header without a token")
		}
	})
	t.Run("rate limited: retryable until the Retry-After date", func(t *testing.T) {
		api.rateLimited = 1
		perr := asError(t, g.Tags(ctx, []string{"a"}))
		if !perr.Retryable || perr.Code != http.StatusTooManyRequests || perr.RetryAfter < time.Hour {
			t.Fatalf("error = %+v, want a retryable 429 until the date", perr)
		}
	})
	t.Run("a wrong token is refused, not retried", func(t *testing.T) {
		bad := NewGeneric(srv.Client(), srv.URL, map[string][]byte{"token": []byte("wrong")}, "token")
		perr := asError(t, bad.Tags(ctx, []string{"a"}))
		if perr.Retryable || perr.Code != http.StatusUnauthorized {
			t.Fatalf("error = %+v, want a 401 that is not retried", perr)
		}
	})
}

func TestAbsoluteURLs(t *testing.T) {
	got, err := AbsoluteURLs([]HostPath{{Host: "shop.example.com", Path: "/a b"}, {Host: "shop.example.com:8443", Path: "/"}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "https://shop.example.com/a%20b" || got[1] != "https://shop.example.com:8443/" {
		t.Fatalf("AbsoluteURLs = %v", got)
	}
	if _, err := AbsoluteURLs([]HostPath{{Path: "/a"}}); err == nil {
		t.Fatal("a page for any host has no URL of its own")
	}
}
