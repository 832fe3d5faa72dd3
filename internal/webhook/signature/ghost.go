package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Ghost's webhook signature, as documented at
// https://docs.ghost.org/webhooks and sent by Ghost's WebhookTrigger
// (https://github.com/TryGhost/Ghost, ghost/core/core/server/services/webhooks/webhook-trigger.js):
// the header x-ghost-signature is "sha256=<hex>, t=<ms>", hex the
// HMAC-SHA256, keyed with the webhook secret, of the body immediately
// followed by the timestamp's digits (no separator).
const ghostSignature = "X-Ghost-Signature"

// parseGhost reads the signature header and checks its timestamp against
// the window; it returns the MAC and the timestamp as sent.
func parseGhost(s Secret, h http.Header, now time.Time, window time.Duration) ([]byte, string, time.Time, error) {
	if err := requireSecret(Ghost, s); err != nil {
		return nil, "", time.Time{}, err
	}
	v, err := single(h, ghostSignature)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	sigPart, tsPart, ok := strings.Cut(v, ",")
	hexSig, okSig := strings.CutPrefix(strings.TrimSpace(sigPart), "sha256=")
	ts, okTs := strings.CutPrefix(strings.TrimSpace(tsPart), "t=")
	if !ok || !okSig || !okTs {
		return nil, "", time.Time{}, fmt.Errorf("%w: %s is not sha256=<hex>, t=<ms>", ErrMalformed, ghostSignature)
	}
	mac, err := decodeHex(ghostSignature, hexSig, sha256.Size)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	t, err := parseTimestamp(ghostSignature, ts, time.Millisecond)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	if err := inWindow(t, now, window); err != nil {
		return nil, "", time.Time{}, err
	}
	return mac, ts, t, nil
}

func precheckGhost(s Secret, h http.Header, now time.Time, window time.Duration) error {
	_, _, _, err := parseGhost(s, h, now, window)
	return err
}

func verifyGhost(s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error) {
	got, ts, t, err := parseGhost(s, d.Header, now, window)
	if err != nil {
		return Verified{}, err
	}
	if !hmac.Equal(got, ghostMAC(s.Value, d.Body, ts)) {
		return Verified{}, fmt.Errorf("%w: %s does not match", ErrBadSignature, ghostSignature)
	}
	return Verified{ID: digestID(got), Timestamp: t}, nil
}

// ghostMAC is the HMAC-SHA256 of body followed by ts.
func ghostMAC(secret, body []byte, ts string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	m.Write([]byte(ts))
	return m.Sum(nil)
}
