package purge

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// AkamaiMaxPerRequest is the most cache tags or URLs one Fast Purge
// request names: Fast Purge bounds a request's body to 50KB
// (https://techdocs.akamai.com/purge-cache/reference/rate-limiting), which
// this many tags of tags.MaxLength characters, or URLs of a few hundred,
// keep within.
const AkamaiMaxPerRequest = 200

// Keys of an Akamai CDN's Secret (api/v1alpha1's SecretKeyAkamai*): the
// API client's EdgeGrid credentials, the fields of its .edgerc.
const (
	AkamaiClientTokenKey  = "clientToken"
	AkamaiClientSecretKey = "clientSecret"
	AkamaiAccessTokenKey  = "accessToken"
)

// Akamai purges through Akamai's Fast Purge API v3: POST
// /ccu/v3/invalidate/tag/{network} or /ccu/v3/invalidate/url/{network}
// with {"objects": [...]}, authenticated with EdgeGrid (an
// EG1-HMAC-SHA256 Authorization header). Akamai's Go SDK
// (AkamaiOPEN-edgegrid-golang) is not on the module proxy this project
// builds from; the signing is short and documented, so it is written
// here.
type Akamai struct {
	hc                                     *http.Client
	base                                   string
	network                                string
	clientToken, clientSecret, accessToken string
	// now and nonce give each signature's time and nonce.
	now   func() time.Time
	nonce func() string
}

// NewAkamai is the Fast Purge client of base (https://<the credential's
// host>, or a test server), purging network (production or staging) with
// the Secret's EdgeGrid credentials.
func NewAkamai(hc *http.Client, base, network string, secret map[string][]byte) (*Akamai, error) {
	a := &Akamai{hc: hc, base: strings.TrimRight(base, "/"), network: network, now: time.Now, nonce: randomNonce}
	var err error
	if a.clientToken, err = credential(secret, AkamaiClientTokenKey); err != nil {
		return nil, err
	}
	if a.clientSecret, err = credential(secret, AkamaiClientSecretKey); err != nil {
		return nil, err
	}
	if a.accessToken, err = credential(secret, AkamaiAccessTokenKey); err != nil {
		return nil, err
	}
	return a, nil
}

// Limits are AkamaiMaxPerRequest of each.
func (a *Akamai) Limits() (tags, urls int) { return AkamaiMaxPerRequest, AkamaiMaxPerRequest }

// Tags invalidates by cache tag.
func (a *Akamai) Tags(ctx context.Context, tags []string) error {
	return a.post(ctx, "/ccu/v3/invalidate/tag/"+a.network, tags)
}

// URLs invalidates by URL.
func (a *Akamai) URLs(ctx context.Context, hps []HostPath) error {
	urls, err := AbsoluteURLs(hps)
	if err != nil {
		return err
	}
	return a.post(ctx, "/ccu/v3/invalidate/url/"+a.network, urls)
}

func (a *Akamai) post(ctx context.Context, path string, objects []string) error {
	body, err := json.Marshal(map[string][]string{"objects": objects})
	if err != nil {
		return fmt.Errorf("encoding a Fast Purge request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building a Fast Purge request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", EdgeGridAuthorization(req, body, a.clientToken, a.clientSecret, a.accessToken, a.now(), a.nonce()))
	resp, err := a.hc.Do(req)
	if err != nil {
		return &Error{Retryable: true, Err: fmt.Errorf("purging through Akamai Fast Purge: %w", err)}
	}
	defer func() { _ = resp.Body.Close() }()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := answerError(resp, fmt.Sprintf("purging through Akamai Fast Purge: %s: %s", resp.Status, strings.TrimSpace(string(rb))))
	if resp.StatusCode == http.StatusTooManyRequests && e.RetryAfter == 0 {
		// Fast Purge documents its 429 as "wait five seconds, then retry"
		// (https://techdocs.akamai.com/purge-cache/reference/429).
		e.RetryAfter = 5 * time.Second
	}
	return e
}

// EdgeGridAuthorization is the Authorization header of req with body,
// signed as Akamai's EdgeGrid scheme documents
// (https://techdocs.akamai.com/developer/docs/authenticate-with-edgegrid):
// the signing key is HMAC-SHA256(client secret, timestamp); the signature
// is HMAC-SHA256(signing key, the tab-joined method, scheme, host, path
// with query, signed headers (none), base64 SHA-256 of a POST body, and
// the header without its signature), both base64.
func EdgeGridAuthorization(req *http.Request, body []byte, clientToken, clientSecret, accessToken string, at time.Time, nonce string) string {
	ts := at.UTC().Format("20060102T15:04:05+0000")
	auth := fmt.Sprintf("EG1-HMAC-SHA256 client_token=%s;access_token=%s;timestamp=%s;nonce=%s;", clientToken, accessToken, ts, nonce)
	contentHash := ""
	if req.Method == http.MethodPost && len(body) > 0 {
		sum := sha256.Sum256(body)
		contentHash = base64.StdEncoding.EncodeToString(sum[:])
	}
	data := strings.Join([]string{
		req.Method, strings.ToLower(req.URL.Scheme), strings.ToLower(req.URL.Host),
		req.URL.RequestURI(), "", contentHash, auth,
	}, "\t")
	key := hmacBase64([]byte(clientSecret), ts)
	return auth + "signature=" + hmacBase64([]byte(key), data)
}

func hmacBase64(key []byte, data string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func randomNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
