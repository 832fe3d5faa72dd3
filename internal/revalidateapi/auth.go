package revalidateapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/isr-operator/isr-operator/internal/webhook/signature"
)

// Header names of signed requests.
const (
	// SignatureHeader carries "sha256=<hex>" of HMAC-SHA256(secret, timestamp + "." + body).
	SignatureHeader = signature.ISRSignatureHeader
	// TimestampHeader carries the Unix time the request was signed at.
	TimestampHeader = signature.ISRTimestampHeader
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
	errNotConfigured = errors.New("no credentials are configured for the revalidate API")
)

// ErrReplay is a ReplayStore's answer to a key claimed before: a
// signature, or a webhook delivery, already accepted.
var ErrReplay = errors.New("signature already used")

// Signature is a verified signed call: what makes it unique, for the replay
// check, and when it stops being acceptable anyway.
type Signature struct {
	// MAC is the decoded HMAC, whatever the case of its hex spelling.
	MAC []byte
	// Timestamp is the signed X-Isr-Timestamp.
	Timestamp time.Time
	// Expires is when the timestamp leaves the window: a record of the
	// signature is needed only until then.
	Expires time.Time
}

// Verifier checks a request's credentials. It keeps no state: whether a
// signature was used before is the ReplayStore's to say, for every replica.
type Verifier struct {
	// Window is how far a signed timestamp may be from now.
	Window time.Duration
}

// Precheck checks what a request carries before its body is read: a bearer
// token in full, and the form and timestamp of a signed call, whose
// signature covers the body. It returns bodyNeeded true for a signed call
// that passed, which Verify must then check with the body; false with a nil
// error for a valid bearer token. A call it refuses never has its body read.
func (v *Verifier) Precheck(creds Credentials, h http.Header, now time.Time) (bodyNeeded bool, err error) {
	if !creds.Configured() {
		return false, errNotConfigured
	}
	if h.Get("Authorization") != "" {
		_, err := v.Verify(creds, h, nil, now)
		return false, err
	}
	sig, ts := h.Get(SignatureHeader), h.Get(TimestampHeader)
	if sig == "" || ts == "" {
		return false, errNoCredentials
	}
	if len(creds.HMACSecret) == 0 || !strings.HasPrefix(sig, "sha256=") {
		return false, errBadSignature
	}
	if _, err := v.timestamp(ts, now); err != nil {
		return false, err
	}
	return true, nil
}

// timestamp reads a signed call's X-Isr-Timestamp and checks it is within
// the window of now; it returns the Unix second.
func (v *Verifier) timestamp(ts string, now time.Time) (int64, error) {
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, errStale
	}
	// Whole seconds, so that no timestamp overflows time arithmetic.
	window := int64(v.Window / time.Second)
	if unix < now.Unix()-window || unix > now.Unix()+window {
		return 0, errStale
	}
	return unix, nil
}

// Verify authenticates a request with body at now against creds. A bearer
// token is tried when an Authorization header is sent (the Signature is then
// nil); otherwise the signature headers must be, and the verified Signature
// is returned for the replay check. Secrets are compared in constant time.
func (v *Verifier) Verify(creds Credentials, h http.Header, body []byte, now time.Time) (*Signature, error) {
	if !creds.Configured() {
		return nil, errNotConfigured
	}
	if auth := h.Get("Authorization"); auth != "" {
		scheme, tok, _ := strings.Cut(strings.TrimSpace(auth), " ")
		if !strings.EqualFold(scheme, "Bearer") || len(creds.Token) == 0 || !equalSecret(strings.TrimSpace(tok), creds.Token) {
			return nil, errBadToken
		}
		return nil, nil
	}
	sig, ts := h.Get(SignatureHeader), h.Get(TimestampHeader)
	if sig == "" || ts == "" {
		return nil, errNoCredentials
	}
	if len(creds.HMACSecret) == 0 {
		return nil, errBadSignature
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return nil, errBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || !hmac.Equal(got, Sign(creds.HMACSecret, ts, body)) {
		return nil, errBadSignature
	}
	unix, err := v.timestamp(ts, now)
	if err != nil {
		return nil, err
	}
	return &Signature{MAC: got, Timestamp: time.Unix(unix, 0), Expires: time.Unix(unix+int64(v.Window/time.Second), 0)}, nil
}

// equalSecret compares a presented secret with the configured one without
// leaking, through timing, how much of it matched or how long it is.
func equalSecret(presented string, want []byte) bool {
	a, b := sha256.Sum256([]byte(presented)), sha256.Sum256(want)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// Sign is the HMAC-SHA256 a caller sends, hex-encoded after "sha256=";
// signature.ISRMAC computes it, for this API and WebhookReceivers of type isr.
func Sign(secret []byte, timestamp string, body []byte) []byte {
	return signature.ISRMAC(secret, timestamp, body)
}
