package purge

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The Akamai contract, from Akamai's documentation:
//   - Fast Purge API v3 (https://techdocs.akamai.com/purge-cache/docs/purge-content-cache-tag):
//     POST /ccu/v3/invalidate/tag/{network} and
//     /ccu/v3/invalidate/url/{network} with {"objects": [...]}, answered
//     201 with {"httpStatus": 201, "purgeId", "estimatedSeconds"};
//   - https://techdocs.akamai.com/purge-cache/reference/rate-limiting :
//     a token bucket per account, a request body of at most 50KB (413
//     beyond), 429 when the bucket is empty;
//   - https://techdocs.akamai.com/purge-cache/reference/429 : after a 429,
//     wait five seconds, then retry;
//   - EdgeGrid authentication
//     (https://techdocs.akamai.com/developer/docs/authenticate-with-edgegrid):
//     Authorization: EG1-HMAC-SHA256 client_token=;access_token=;
//     timestamp=;nonce=;signature=, verified below from those fields
//     and the client secret the server shares.
const (
	akClientToken  = "akab-client-token"
	akClientSecret = "akab-client-secret"
	akAccessToken  = "akab-access-token"
)

// verifyEdgeGrid checks r's EdgeGrid signature as Akamai's API does.
func verifyEdgeGrid(r *http.Request, body []byte) bool {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "EG1-HMAC-SHA256 ")
	if !ok {
		return false
	}
	fields := map[string]string{}
	for f := range strings.SplitSeq(rest, ";") {
		if k, v, ok := strings.Cut(f, "="); ok {
			fields[k] = v
		}
	}
	if fields["client_token"] != akClientToken || fields["access_token"] != akAccessToken || fields["nonce"] == "" {
		return false
	}
	unsigned, _, _ := strings.Cut(auth, "signature=")
	mac := func(key []byte, data string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(data))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	sum := sha256.Sum256(body)
	data := "POST\thttp\t" + r.Host + "\t" + r.URL.RequestURI() + "\t\t" + base64.StdEncoding.EncodeToString(sum[:]) + "\t" + unsigned
	want := mac([]byte(mac([]byte(akClientSecret), fields["timestamp"])), data)
	return hmac.Equal([]byte(fields["signature"]), []byte(want))
}

func akamaiAPI(t *testing.T) *contract {
	c := &contract{t: t, limited: map[string]any{"title": "Rate Limit exceeded", "httpStatus": 429}}
	c.check = func(r *http.Request) (int, any) {
		var body []byte
		c.mu.Lock()
		body = []byte(c.bodies[len(c.bodies)-1])
		c.mu.Unlock()
		if len(body) > 50*1024 {
			return http.StatusRequestEntityTooLarge, map[string]any{"title": "Request Entity Too Large", "httpStatus": 413}
		}
		if !verifyEdgeGrid(r, body) {
			return http.StatusUnauthorized, map[string]any{"title": "Not authorized", "httpStatus": 401}
		}
		if r.URL.Path != "/ccu/v3/invalidate/tag/production" && r.URL.Path != "/ccu/v3/invalidate/url/production" {
			return http.StatusNotFound, map[string]any{"title": "Not found", "httpStatus": 404}
		}
		var req map[string][]string
		if err := json.Unmarshal(body, &req); err != nil || len(req["objects"]) == 0 {
			return http.StatusBadRequest, map[string]any{"title": "Bad request", "httpStatus": 400}
		}
		return http.StatusCreated, map[string]any{"httpStatus": 201, "purgeId": "e535071c-26b2-11e7-94d7-276f2f54d938", "estimatedSeconds": 5}
	}
	return c
}

func TestAkamaiPurge(t *testing.T) {
	ctx := context.Background()
	api := akamaiAPI(t)
	srv := api.start()
	secret := map[string][]byte{"clientToken": []byte(akClientToken), "clientSecret": []byte(akClientSecret), "accessToken": []byte(akAccessToken)}
	a, err := NewAkamai(srv.Client(), srv.URL, "production", secret)
	if err != nil {
		t.Fatal(err)
	}
	tags := make([]string, AkamaiMaxPerRequest)
	for i := range tags {
		// The longest tags: a full request stays within the 50KB body.
		tags[i] = strings.Repeat("t", 125) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	if err := a.Tags(ctx, tags); err != nil {
		t.Fatalf("purging %d of the longest tags: %v", len(tags), err)
	}
	if err := a.URLs(ctx, []HostPath{{Host: "shop.example.com", Path: "/a"}}); err != nil {
		t.Fatal(err)
	}
	if r, body := api.last(); r.URL.Path != "/ccu/v3/invalidate/url/production" || body != `{"objects":["https://shop.example.com/a"]}` {
		t.Fatalf("URL purge %s %s", r.URL.Path, body)
	}
	t.Run("rate limited: retried after five seconds without Retry-After", func(t *testing.T) {
		api.rateLimited = 1
		perr := asError(t, a.Tags(ctx, tags[:1]))
		if !perr.Retryable || perr.Code != http.StatusTooManyRequests || perr.RetryAfter != 5*time.Second {
			t.Fatalf("error = %+v, want a retryable 429 after 5s", perr)
		}
	})
	t.Run("a wrong secret is refused, not retried", func(t *testing.T) {
		bad := map[string][]byte{"clientToken": []byte(akClientToken), "clientSecret": []byte("wrong"), "accessToken": []byte(akAccessToken)}
		b, err := NewAkamai(srv.Client(), srv.URL, "production", bad)
		if err != nil {
			t.Fatal(err)
		}
		perr := asError(t, b.Tags(ctx, tags[:1]))
		if perr.Retryable || perr.Code != http.StatusUnauthorized {
			t.Fatalf("error = %+v, want a 401 that is not retried", perr)
		}
	})
	t.Run("credentials missing from the Secret", func(t *testing.T) {
		if _, err := NewAkamai(srv.Client(), srv.URL, "production", map[string][]byte{"clientToken": []byte("x")}); err == nil {
			t.Fatal("a client without its secret and access token")
		}
	})
}
