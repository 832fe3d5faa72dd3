package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The revalidate API's own scheme (docs/revalidate-api.md): X-Isr-Timestamp
// is the Unix second of signing, X-Isr-Signature "sha256=" and the hex
// ISRMAC of that timestamp and the body.
const (
	// ISRSignatureHeader carries "sha256=<hex>" of ISRMAC.
	ISRSignatureHeader = "X-Isr-Signature"
	// ISRTimestampHeader carries the Unix second the request was signed at.
	ISRTimestampHeader = "X-Isr-Timestamp"
)

// ISRMAC is the HMAC-SHA256, keyed with secret, of timestamp + "." + body:
// what X-Isr-Signature carries, hex-encoded after "sha256=". It is the one
// home of that computation, for the revalidate API and its receivers.
func ISRMAC(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// parseISR reads the signature headers and checks the timestamp against
// the window; it returns the MAC and the timestamp as sent.
func parseISR(s Secret, h http.Header, now time.Time, window time.Duration) ([]byte, string, time.Time, error) {
	if err := requireSecret(ISR, s); err != nil {
		return nil, "", time.Time{}, err
	}
	sig, err := single(h, ISRSignatureHeader)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	ts, err := single(h, ISRTimestampHeader)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return nil, "", time.Time{}, fmt.Errorf("%w: %s does not start with sha256=", ErrMalformed, ISRSignatureHeader)
	}
	mac, err := decodeHex(ISRSignatureHeader, hexSig, sha256.Size)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	t, err := parseTimestamp(ISRTimestampHeader, ts, time.Second)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if err := inWindow(t, now, window); err != nil {
		return nil, "", time.Time{}, err
	}
	return mac, ts, t, nil
}

func precheckISR(s Secret, h http.Header, now time.Time, window time.Duration) error {
	_, _, _, err := parseISR(s, h, now, window)
	return err
}

func verifyISR(s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error) {
	got, ts, t, err := parseISR(s, d.Header, now, window)
	if err != nil {
		return Verified{}, err
	}
	if !hmac.Equal(got, ISRMAC(s.Value, ts, d.Body)) {
		return Verified{}, fmt.Errorf("%w: %s does not match", ErrBadSignature, ISRSignatureHeader)
	}
	return Verified{ID: digestID(got), Timestamp: t}, nil
}
