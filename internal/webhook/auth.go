// Package webhook is the revalidate API: an authenticated HTTP endpoint a
// CMS calls to re-render pages now, by path, label selector or name.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header names of signed requests.
const (
	// SignatureHeader carries "sha256=<hex>" of HMAC-SHA256(secret, timestamp + "." + body).
	SignatureHeader = "X-Isr-Signature"
	// TimestampHeader carries the Unix time the request was signed at.
	TimestampHeader = "X-Isr-Timestamp"
)

// Keys of the credentials Secret.
const (
	// TokenKey holds the bearer token.
	TokenKey = "token"
	// HMACKey holds the HMAC signing secret.
	HMACKey = "hmac-secret"
)

// Credentials are what a caller may authenticate with; either may be empty.
type Credentials struct {
	// Token is accepted as "Authorization: Bearer <token>".
	Token []byte
	// HMACSecret verifies signed requests.
	HMACSecret []byte
}

// Configured is true when any credential is set.
func (c Credentials) Configured() bool { return len(c.Token) > 0 || len(c.HMACSecret) > 0 }

var (
	errNoCredentials = errors.New("no credentials: send 'Authorization: Bearer <token>' or signed " + SignatureHeader + " and " + TimestampHeader + " headers")
	errBadToken      = errors.New("invalid bearer token")
	errBadSignature  = errors.New("invalid signature")
	errStale         = errors.New("timestamp outside the accepted window")
	errReplay        = errors.New("signature already used")
	errNotConfigured = errors.New("no credentials are configured for the revalidate API")
)

// Verifier checks a request's credentials and refuses replayed signatures.
type Verifier struct {
	// Window is how far a signed timestamp may be from now.
	Window time.Duration

	mu   sync.Mutex
	seen map[string]time.Time // signature -> when it stops being acceptable
}

// Verify authenticates a request with body at now against creds.
func (v *Verifier) Verify(creds Credentials, h http.Header, body []byte, now time.Time) error {
	if !creds.Configured() {
		return errNotConfigured
	}
	if auth := h.Get("Authorization"); auth != "" {
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || len(creds.Token) == 0 || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), creds.Token) != 1 {
			return errBadToken
		}
		return nil
	}
	sig, ts := h.Get(SignatureHeader), h.Get(TimestampHeader)
	if sig == "" || ts == "" {
		return errNoCredentials
	}
	if len(creds.HMACSecret) == 0 {
		return errBadSignature
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	if err != nil || !strings.HasPrefix(sig, "sha256=") {
		return errBadSignature
	}
	if !hmac.Equal(got, Sign(creds.HMACSecret, ts, body)) {
		return errBadSignature
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errStale
	}
	at := time.Unix(unix, 0)
	if at.Before(now.Add(-v.Window)) || at.After(now.Add(v.Window)) {
		return errStale
	}
	return v.remember(sig, at.Add(v.Window), now)
}

// remember records a used signature until it expires, refusing a second use.
func (v *Verifier) remember(sig string, until, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]time.Time{}
	}
	for s, exp := range v.seen {
		if exp.Before(now) {
			delete(v.seen, s)
		}
	}
	if _, ok := v.seen[sig]; ok {
		return errReplay
	}
	v.seen[sig] = until
	return nil
}

// Sign is the HMAC-SHA256 a caller sends, hex-encoded after "sha256=".
func Sign(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
