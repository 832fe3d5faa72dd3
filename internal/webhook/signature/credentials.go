package signature

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Static credentials, for senders that do not sign their deliveries:
// bearer is "Authorization: Bearer <secret>" (RFC 6750, as Strapi's and
// Directus's webhook headers are set), basic is HTTP Basic authentication
// (RFC 7617, as DatoCMS sends it). Both are checked in full before the body
// is read, and compared in constant time.
const authorization = "Authorization"

// credentials returns the Authorization header's parameter for scheme
// (case-insensitive).
func credentials(h http.Header, scheme string) (string, error) {
	v, err := single(h, authorization)
	if err != nil {
		return "", err
	}
	got, param, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(got, scheme) {
		return "", fmt.Errorf("%w: %s is not %s credentials", ErrMalformed, authorization, scheme)
	}
	return strings.TrimSpace(param), nil
}

func precheckBearer(s Secret, h http.Header, _ time.Time, _ time.Duration) error {
	if err := CheckSecret(Bearer, s); err != nil {
		return err
	}
	token, err := credentials(h, "Bearer")
	if err != nil {
		return err
	}
	if !equalSecret([]byte(token), s.Value) {
		return fmt.Errorf("%w: wrong bearer token", ErrBadSignature)
	}
	return nil
}

func verifyBearer(s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error) {
	return Verified{}, precheckBearer(s, d.Header, now, window)
}

func precheckBasic(s Secret, h http.Header, _ time.Time, _ time.Duration) error {
	if err := CheckSecret(Basic, s); err != nil {
		return err
	}
	param, err := credentials(h, "Basic")
	if err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(param)
	if err != nil {
		return fmt.Errorf("%w: %s basic credentials are not base64", ErrMalformed, authorization)
	}
	user, pass, ok := bytes.Cut(raw, []byte{':'})
	if !ok {
		return fmt.Errorf("%w: %s basic credentials have no colon", ErrMalformed, authorization)
	}
	// Both compared, whatever the first gives, so that the time taken does
	// not tell which was wrong.
	userOK := equalSecret(user, s.Username)
	passOK := equalSecret(pass, s.Password)
	if !userOK || !passOK {
		return fmt.Errorf("%w: wrong username or password", ErrBadSignature)
	}
	return nil
}

func verifyBasic(s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error) {
	return Verified{}, precheckBasic(s, d.Header, now, window)
}
