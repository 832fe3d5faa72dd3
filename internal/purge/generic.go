package purge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// GenericMaxPerRequest is the most tags or URLs one request of provider
// http names.
const GenericMaxPerRequest = 100

// Generic purges through any service that takes a POST of a JSON body,
// {"tags": [...]} or {"urls": [...]}, with Content-Type application/json
// and, when its Secret has a token, Authorization: Bearer <token>. Any 2xx
// answer acknowledges the purge; 429 and 5xx are retried (after
// Retry-After when sent).
type Generic struct {
	hc    *http.Client
	url   string
	token string
}

// GenericBody is the JSON body a Generic purge sends.
type GenericBody struct {
	// Tags are the tags to purge.
	Tags []string `json:"tags,omitempty"`
	// URLs are the absolute URLs to purge.
	URLs []string `json:"urls,omitempty"`
}

// NewGeneric is the client of target, with the Secret's key as bearer
// token when the Secret is given and has it.
func NewGeneric(hc *http.Client, target string, secret map[string][]byte, key string) *Generic {
	return &Generic{hc: hc, url: target, token: string(trimNewline(secret[key]))}
}

// Limits are GenericMaxPerRequest for both.
func (g *Generic) Limits() (tags, urls int) { return GenericMaxPerRequest, GenericMaxPerRequest }

// Tags purges by tag.
func (g *Generic) Tags(ctx context.Context, tags []string) error {
	return g.post(ctx, GenericBody{Tags: tags})
}

// URLs purges by URL.
func (g *Generic) URLs(ctx context.Context, hps []HostPath) error {
	urls, err := AbsoluteURLs(hps)
	if err != nil {
		return err
	}
	return g.post(ctx, GenericBody{URLs: urls})
}

func (g *Generic) post(ctx context.Context, body GenericBody) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding a purge: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("building a purge: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if g.token != "" {
		req.Header.Set("Authorization", "Bearer "+g.token)
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		return &Error{Retryable: true, Err: fmt.Errorf("purging %s: %w", req.URL.Redacted(), err)}
	}
	defer func() { _ = resp.Body.Close() }()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return answerError(resp, fmt.Sprintf("purging %s: %s: %s", req.URL.Redacted(), resp.Status, strings.TrimSpace(string(rb))))
}
