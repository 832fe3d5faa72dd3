package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sanity's GROQ-powered webhooks, as documented at
// https://www.sanity.io/docs/webhooks (section "Security") and implemented
// by https://github.com/sanity-io/webhook-toolkit (src/signature.ts): the
// header sanity-webhook-signature is "t=<ms>,v1=<sig>", sig the base64url
// (unpadded) HMAC-SHA256, keyed with the secret, of "<t>.<body>". The
// toolkit compares the whole header with the one it encodes, so only that
// exact spelling verifies; the body must not be empty.
const (
	sanitySignature = "Sanity-Webhook-Signature"
	// sanityMinTimestamp is the toolkit's lower bound on a timestamp
	// (2021-01-01 in milliseconds).
	sanityMinTimestamp = 1609459200000
)

// sanityHeader is the toolkit's SIGNATURE_HEADER_REGEX.
var sanityHeader = regexp.MustCompile(`^t=(\d+)[, ]+v1=([^, ]+)$`)

// parseSanity reads the signature header and checks its timestamp
// against the window; it returns the header as sent and the timestamp.
func parseSanity(s Secret, h http.Header, now time.Time, window time.Duration) (string, time.Time, error) {
	if err := requireSecret(Sanity, s); err != nil {
		return "", time.Time{}, err
	}
	v, err := single(h, sanitySignature)
	if err != nil {
		return "", time.Time{}, err
	}
	m := sanityHeader.FindStringSubmatch(jsTrim(v))
	if m == nil {
		return "", time.Time{}, fmt.Errorf("%w: %s is not t=<ms>,v1=<signature>", ErrMalformed, sanitySignature)
	}
	t, err := parseTimestamp(sanitySignature, m[1], time.Millisecond)
	if err != nil {
		return "", time.Time{}, err
	}
	if t.UnixMilli() < sanityMinTimestamp {
		return "", time.Time{}, fmt.Errorf("%w: %s before 2021", ErrMalformed, sanitySignature)
	}
	if err := inWindow(t, now, window); err != nil {
		return "", time.Time{}, err
	}
	return v, t, nil
}

func precheckSanity(s Secret, h http.Header, now time.Time, window time.Duration) error {
	_, _, err := parseSanity(s, h, now, window)
	return err
}

func verifySanity(s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error) {
	v, t, err := parseSanity(s, d.Header, now, window)
	if err != nil {
		return Verified{}, err
	}
	if len(d.Body) == 0 {
		return Verified{}, fmt.Errorf("%w: an empty body cannot be signed", ErrMalformed)
	}
	if !equalString(v, sanityEncode(s.Value, t, d.Body)) {
		return Verified{}, fmt.Errorf("%w: %s does not match", ErrBadSignature, sanitySignature)
	}
	_, sig, _ := strings.Cut(v, "v1=")
	return Verified{ID: digestID([]byte(sig)), Timestamp: t}, nil
}

// sanityEncode is the header a delivery of body signed at t carries.
func sanityEncode(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
