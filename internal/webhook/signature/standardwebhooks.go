package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Standard Webhooks, as specified at https://www.standardwebhooks.com/
// (https://github.com/standard-webhooks/standard-webhooks,
// spec/standard-webhooks.md): headers webhook-id, webhook-timestamp (Unix
// seconds) and webhook-signature, a space-separated list of
// "<version>,<base64>" of which the "v1" ones are HMAC-SHA256, keyed with
// the base64-decoded secret (shown as "whsec_<base64>"), of
// "<id>.<timestamp>.<body>". Any one matching signature verifies, so a
// sender can sign with an old and a new key while rotating. Svix sends the
// same scheme with the prefix svix- instead of webhook-.
const (
	standardWebhooksPrefix = "whsec_"
	standardWebhooksV1     = "v1"
)

// standardWebhooksHeaderSets are the header names of the scheme, tried in
// order: the specification's, then Svix's.
var standardWebhooksHeaderSets = [][3]string{
	{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"},
	{"Svix-Id", "Svix-Timestamp", "Svix-Signature"},
}

// standardWebhooksHeaders is the parsed form of a delivery's headers.
type standardWebhooksHeaders struct {
	id, timestamp string
	t             time.Time
	signatures    [][]byte
	key           []byte
}

// standardWebhooksKey decodes the secret: base64, after an optional whsec_.
func standardWebhooksKey(s Secret) ([]byte, error) {
	enc := strings.TrimPrefix(string(s.Value), standardWebhooksPrefix)
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("%w: standard-webhooks needs the key secret as whsec_<base64>", ErrSecret)
	}
	return key, nil
}

// parseStandardWebhooks reads the headers (the specification's when its id
// is sent, else Svix's) and checks the timestamp against the window.
func parseStandardWebhooks(s Secret, h http.Header, now time.Time, window time.Duration) (standardWebhooksHeaders, error) {
	key, err := standardWebhooksKey(s)
	if err != nil {
		return standardWebhooksHeaders{}, err
	}
	names := standardWebhooksHeaderSets[0]
	for _, set := range standardWebhooksHeaderSets {
		if h.Get(set[0]) != "" {
			names = set
			break
		}
	}
	var v [3]string
	for i, name := range names {
		if v[i], err = single(h, name); err != nil {
			return standardWebhooksHeaders{}, err
		}
	}
	t, err := parseTimestamp(names[1], v[1], time.Second)
	if err != nil {
		return standardWebhooksHeaders{}, err
	}
	if err := inWindow(t, now, window); err != nil {
		return standardWebhooksHeaders{}, err
	}
	var sigs [][]byte
	for field := range strings.SplitSeq(v[2], " ") {
		version, enc, ok := strings.Cut(field, ",")
		if !ok || version != standardWebhooksV1 {
			continue
		}
		if sig, err := base64.StdEncoding.DecodeString(enc); err == nil && len(sig) == sha256.Size {
			sigs = append(sigs, sig)
		}
	}
	if len(sigs) == 0 {
		return standardWebhooksHeaders{}, fmt.Errorf("%w: %s has no v1,<base64> signature", ErrMalformed, names[2])
	}
	return standardWebhooksHeaders{id: v[0], timestamp: v[1], t: t, signatures: sigs, key: key}, nil
}

func precheckStandardWebhooks(s Secret, h http.Header, now time.Time, window time.Duration) error {
	_, err := parseStandardWebhooks(s, h, now, window)
	return err
}

func verifyStandardWebhooks(s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error) {
	sh, err := parseStandardWebhooks(s, d.Header, now, window)
	if err != nil {
		return Verified{}, err
	}
	want := standardWebhooksMAC(sh.key, sh.id, sh.timestamp, d.Body)
	matched := 0
	for _, sig := range sh.signatures {
		// Every signature is compared, so the time taken does not tell
		// which one matched.
		if hmac.Equal(sig, want) {
			matched++
		}
	}
	if matched == 0 {
		return Verified{}, fmt.Errorf("%w: no v1 signature matches", ErrBadSignature)
	}
	return Verified{ID: sh.id, Timestamp: sh.t}, nil
}

// standardWebhooksMAC is the HMAC-SHA256 of "<id>.<timestamp>.<body>".
func standardWebhooksMAC(key []byte, id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
