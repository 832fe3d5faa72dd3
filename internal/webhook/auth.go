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

// Credentials are what a caller may authenticate with; either may be empty,
// and with both empty every call is refused.
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

	mu    sync.Mutex
	seen  map[string]time.Time // MAC -> when its timestamp leaves the window
	swept time.Time
}

// Verify authenticates a request with body at now against creds. A bearer
// token is tried when an Authorization header is sent; otherwise the
// signature headers must be. Secrets are compared in constant time.
func (v *Verifier) Verify(creds Credentials, h http.Header, body []byte, now time.Time) error {
	if !creds.Configured() {
		return errNotConfigured
	}
	if auth := h.Get("Authorization"); auth != "" {
		scheme, tok, _ := strings.Cut(strings.TrimSpace(auth), " ")
		if !strings.EqualFold(scheme, "Bearer") || len(creds.Token) == 0 || !equalSecret(strings.TrimSpace(tok), creds.Token) {
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
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return errBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || !hmac.Equal(got, Sign(creds.HMACSecret, ts, body)) {
		return errBadSignature
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errStale
	}
	// Whole seconds, so that no timestamp overflows time arithmetic.
	window := int64(v.Window / time.Second)
	if unix < now.Unix()-window || unix > now.Unix()+window {
		return errStale
	}
	// Keyed by the MAC itself, not its spelling: "sha256=AB…" and
	// "sha256=ab…" are the same signature.
	return v.remember(string(got), time.Unix(unix+window, 0), now)
}

// equalSecret compares a presented secret with the configured one without
// leaking, through timing, how much of it matched or how long it is.
func equalSecret(presented string, want []byte) bool {
	a, b := sha256.Sum256([]byte(presented)), sha256.Sum256(want)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// remember records a used signature until it expires, refusing a second use.
func (v *Verifier) remember(mac string, until, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[string]time.Time{}
	}
	if now.Sub(v.swept) >= time.Second || len(v.seen) > sweepAbove {
		for s, exp := range v.seen {
			if exp.Before(now) {
				delete(v.seen, s)
			}
		}
		v.swept = now
	}
	if _, ok := v.seen[mac]; ok {
		return errReplay
	}
	v.seen[mac] = until
	return nil
}

// sweepAbove is how many remembered signatures force a sweep however
// recently the last one ran.
const sweepAbove = 4096

// Sign is the HMAC-SHA256 a caller sends, hex-encoded after "sha256=".
func Sign(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
