package purge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cloudflare/cloudflare-go/v6/cache"
	"github.com/cloudflare/cloudflare-go/v6/option"
)

// CloudflareAPI is the base URL of Cloudflare's API.
const CloudflareAPI = "https://api.cloudflare.com/client/v4/"

// CloudflareMaxPerRequest is the most tags or URLs one purge request
// names: Cloudflare's documented limit per request on every plan
// (https://developers.cloudflare.com/cache/how-to/purge-cache/#availability-and-limits).
const CloudflareMaxPerRequest = 100

// Cloudflare purges one zone with Cloudflare's Go SDK (cloudflare-go):
// POST /zones/{zone_id}/purge_cache with {"tags": [...]} or
// {"files": [...]}, authenticated by an API token.
type Cloudflare struct {
	svc  *cache.CacheService
	zone string
}

// NewCloudflare is the client of zone, authenticated by the Secret's
// apiToken, sending with hc to endpoint ("" for CloudflareAPI). The SDK
// does not retry: the Purger does, as the answers say.
func NewCloudflare(hc *http.Client, endpoint, zone string, secret map[string][]byte, key string) (*Cloudflare, error) {
	token, err := credential(secret, key)
	if err != nil {
		return nil, err
	}
	if endpoint == "" {
		endpoint = CloudflareAPI
	}
	svc := cache.NewCacheService(
		option.WithBaseURL(strings.TrimRight(endpoint, "/")+"/"),
		option.WithAPIToken(token),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
	)
	return &Cloudflare{svc: svc, zone: zone}, nil
}

// Limits are Cloudflare's per-request limits.
func (c *Cloudflare) Limits() (tags, urls int) {
	return CloudflareMaxPerRequest, CloudflareMaxPerRequest
}

// The SDK's request fields are set through their Value and Present
// fields rather than its root package's F, which would link every
// Cloudflare service into the manager.

// Tags purges by cache tag.
func (c *Cloudflare) Tags(ctx context.Context, tags []string) error {
	var body cache.CachePurgeParamsBodyCachePurgeFlexPurgeByTags
	body.Tags.Value, body.Tags.Present = tags, true
	return c.purge(ctx, body)
}

// URLs purges single files.
func (c *Cloudflare) URLs(ctx context.Context, hps []HostPath) error {
	urls, err := AbsoluteURLs(hps)
	if err != nil {
		return err
	}
	var body cache.CachePurgeParamsBodyCachePurgeSingleFile
	body.Files.Value, body.Files.Present = urls, true
	return c.purge(ctx, body)
}

func (c *Cloudflare) purge(ctx context.Context, body cache.CachePurgeParamsBodyUnion) error {
	params := cache.CachePurgeParams{Body: body}
	params.ZoneID.Value, params.ZoneID.Present = c.zone, true
	_, err := c.svc.Purge(ctx, params)
	if err == nil {
		return nil
	}
	var apiErr *cache.Error
	if errors.As(err, &apiErr) && apiErr.Response != nil {
		return answerError(apiErr.Response, fmt.Sprintf("purging Cloudflare zone %s: %s", c.zone, strings.TrimSpace(apiErr.Error())))
	}
	// No answer: a connection error or a timeout.
	return &Error{Retryable: true, Err: fmt.Errorf("purging Cloudflare zone %s: %w", c.zone, err)}
}
