package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"fmt"
	"net/http"
	"time"
)

// Storyblok's webhook secret, as documented at
// https://www.storyblok.com/docs/concepts/webhooks and
// https://www.storyblok.com/tp/webhook-secret-with-different-technologies:
// the header webhook-signature is the hex HMAC-SHA1, keyed with the
// webhook secret, of the raw body. There is no timestamp.
const storyblokSignature = "Webhook-Signature"

func parseStoryblok(s Secret, h http.Header) ([]byte, error) {
	if err := requireSecret(Storyblok, s); err != nil {
		return nil, err
	}
	v, err := single(h, storyblokSignature)
	if err != nil {
		return nil, err
	}
	return decodeHex(storyblokSignature, v, sha1.Size)
}

func precheckStoryblok(s Secret, h http.Header, _ time.Time, _ time.Duration) error {
	_, err := parseStoryblok(s, h)
	return err
}

func verifyStoryblok(s Secret, d Delivery, _ time.Time, _ time.Duration) (Verified, error) {
	got, err := parseStoryblok(s, d.Header)
	if err != nil {
		return Verified{}, err
	}
	if !hmac.Equal(got, storyblokMAC(s.Value, d.Body)) {
		return Verified{}, fmt.Errorf("%w: %s does not match", ErrBadSignature, storyblokSignature)
	}
	return Verified{ID: digestID(got)}, nil
}

// storyblokMAC is the HMAC-SHA1 of body.
func storyblokMAC(secret, body []byte) []byte {
	m := hmac.New(sha1.New, secret)
	m.Write(body)
	return m.Sum(nil)
}
