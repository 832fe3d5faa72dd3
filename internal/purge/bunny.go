package purge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// BunnyAPI is the base URL of bunny.net's API.
const BunnyAPI = "https://api.bunny.net"

// BunnyAccessKeyHeader carries a bunny.net API key.
const BunnyAccessKeyHeader = "AccessKey"

// Bunny purges one bunny.net pull zone through its documented HTTP API
// (bunny.net maintains no Go SDK): POST /pullzone/{id}/purgeCache with
// {"CacheTag": tag} purges the files whose CDN-Tag carries that tag
// (https://docs.bunny.net/cdn/purge-cache). The API reference
// (https://docs.bunny.net/reference/pullzonepublic_purgecachepostbytag)
// gives the body a single CacheTag, a string, and documents no list or
// batch of tags, so each tag is a request of its own. POST
// /purge?url=...&exactPath=true purges one URL and waits until it is done
// (https://docs.bunny.net/reference/purgepublic_indexpost). exactPath
// keeps a route ending in "/" from purging everything under it.
type Bunny struct {
	hc       *http.Client
	endpoint string
	zone     int64
	key      string
}

// NewBunny is the client of pull zone zone, authenticated by the
// Secret's accessKey, sending with hc to endpoint ("" for BunnyAPI).
func NewBunny(hc *http.Client, endpoint string, zone int64, secret map[string][]byte, key string) (*Bunny, error) {
	token, err := credential(secret, key)
	if err != nil {
		return nil, err
	}
	if endpoint == "" {
		endpoint = BunnyAPI
	}
	return &Bunny{hc: hc, endpoint: strings.TrimRight(endpoint, "/"), zone: zone, key: token}, nil
}

// Limits are bunny.net's: one tag (the one CacheTag of a purgeCache
// body), one URL (the url parameter of a purge) per request.
func (b *Bunny) Limits() (tags, urls int) { return 1, 1 }

// Tags purges the files tagged with each of tags, a request each.
func (b *Bunny) Tags(ctx context.Context, tags []string) error {
	for _, tag := range tags {
		body, err := json.Marshal(map[string]string{"CacheTag": tag})
		if err != nil {
			return fmt.Errorf("encoding a bunny.net purge: %w", err)
		}
		if err := b.post(ctx, "/pullzone/"+strconv.FormatInt(b.zone, 10)+"/purgeCache", body); err != nil {
			return err
		}
	}
	return nil
}

// URLs purges each of urls, a request each.
func (b *Bunny) URLs(ctx context.Context, hps []HostPath) error {
	urls, err := AbsoluteURLs(hps)
	if err != nil {
		return err
	}
	for _, u := range urls {
		q := url.Values{"url": {u}, "exactPath": {"true"}}
		if err := b.post(ctx, "/purge?"+q.Encode(), nil); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bunny) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.endpoint+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building a bunny.net purge: %w", err)
	}
	req.Header.Set(BunnyAccessKeyHeader, b.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return &Error{Retryable: true, Err: fmt.Errorf("purging bunny.net pull zone %d: %w", b.zone, err)}
	}
	defer func() { _ = resp.Body.Close() }()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return answerError(resp, fmt.Sprintf("purging bunny.net pull zone %d: %s: %s", b.zone, resp.Status, strings.TrimSpace(string(rb))))
}
