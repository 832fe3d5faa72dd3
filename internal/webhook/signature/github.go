package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// GitHub's webhook signature, as documented at
// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries:
// the header x-hub-signature-256 is "sha256=" and the hex HMAC-SHA256,
// keyed with the webhook secret, of the raw body. There is no timestamp.
const githubSignature = "X-Hub-Signature-256"

func parseGitHub(s Secret, h http.Header) ([]byte, error) {
	if err := requireSecret(GitHub, s); err != nil {
		return nil, err
	}
	v, err := single(h, githubSignature)
	if err != nil {
		return nil, err
	}
	hexSig, ok := strings.CutPrefix(v, "sha256=")
	if !ok {
		return nil, fmt.Errorf("%w: %s does not start with sha256=", ErrMalformed, githubSignature)
	}
	return decodeHex(githubSignature, hexSig, sha256.Size)
}

func precheckGitHub(s Secret, h http.Header, _ time.Time, _ time.Duration) error {
	_, err := parseGitHub(s, h)
	return err
}

func verifyGitHub(s Secret, d Delivery, _ time.Time, _ time.Duration) (Verified, error) {
	got, err := parseGitHub(s, d.Header)
	if err != nil {
		return Verified{}, err
	}
	if !hmac.Equal(got, githubMAC(s.Value, d.Body)) {
		return Verified{}, fmt.Errorf("%w: %s does not match", ErrBadSignature, githubSignature)
	}
	return Verified{ID: digestID(got)}, nil
}

// githubMAC is the HMAC-SHA256 of body.
func githubMAC(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}
