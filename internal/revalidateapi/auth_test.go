package revalidateapi

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestVerifyBearerScheme: the token is accepted only after the Bearer
// scheme (in any case); the right secret under another scheme, or with
// none, is refused, so a client that sends its token as a password or
// a raw header is told so instead of being let in.
func TestVerifyBearerScheme(t *testing.T) {
	creds := Credentials{Token: []byte("s3cret")}
	v := &Verifier{Window: time.Minute}
	now := time.Unix(1_800_000_000, 0)
	for _, tt := range []struct {
		auth string
		ok   bool
	}{
		{"Bearer s3cret", true},
		{"bearer s3cret", true},
		{"  BEARER   s3cret  ", true},
		{"Basic s3cret", false},
		{"Token s3cret", false},
		{"Bearers s3cret", false},
		{"s3cret", false},
		{" s3cret", false},
		{"Bearer", false},
		{"Bearer wrong", false},
		{"Bearer s3cret2", false},
	} {
		h := http.Header{}
		h.Set("Authorization", tt.auth)
		sig, err := v.Verify(creds, h, nil, now)
		switch {
		case tt.ok && err != nil:
			t.Errorf("Authorization %q refused: %v", tt.auth, err)
		case !tt.ok && !errors.Is(err, errBadToken):
			t.Errorf("Authorization %q: err = %v, want %v", tt.auth, err, errBadToken)
		case sig != nil:
			t.Errorf("Authorization %q gave a signature to claim", tt.auth)
		}
	}
}

// TestPrecheck: what can be told before the body is read is told then: a
// bearer token in full, a signed call's form and timestamp; only a signed
// call that passes needs its body.
func TestPrecheck(t *testing.T) {
	creds := Credentials{Token: []byte("s3cret"), HMACSecret: []byte("key")}
	v := &Verifier{Window: time.Minute}
	now := time.Unix(1_800_000_000, 0)
	stamp := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	for _, tt := range []struct {
		name       string
		creds      Credentials
		headers    map[string]string
		bodyNeeded bool
		err        error
	}{
		{"a right token", creds, map[string]string{"Authorization": "Bearer s3cret"}, false, nil},
		{"a wrong token", creds, map[string]string{"Authorization": "Bearer wrong"}, false, errBadToken},
		{"a token with only an HMAC secret configured", Credentials{HMACSecret: []byte("key")}, map[string]string{"Authorization": "Bearer s3cret"}, false, errBadToken},
		{"no credentials", creds, nil, false, errNoCredentials},
		{"a signature without a timestamp", creds, map[string]string{SignatureHeader: "sha256=00"}, false, errNoCredentials},
		{"a signature in another form", creds, map[string]string{SignatureHeader: "md5=00", TimestampHeader: stamp(0)}, false, errBadSignature},
		{"a signature with no HMAC secret configured", Credentials{Token: []byte("s3cret")}, map[string]string{SignatureHeader: "sha256=00", TimestampHeader: stamp(0)}, false, errBadSignature},
		{"a stale timestamp", creds, map[string]string{SignatureHeader: "sha256=00", TimestampHeader: stamp(-2 * time.Minute)}, false, errStale},
		{"a timestamp from the future", creds, map[string]string{SignatureHeader: "sha256=00", TimestampHeader: stamp(2 * time.Minute)}, false, errStale},
		{"a timestamp that is no number", creds, map[string]string{SignatureHeader: "sha256=00", TimestampHeader: "soon"}, false, errStale},
		{"a signed call in the window", creds, map[string]string{SignatureHeader: "sha256=00", TimestampHeader: stamp(-30 * time.Second)}, true, nil},
		{"a signed call at the window's far edge", creds, map[string]string{SignatureHeader: "sha256=00", TimestampHeader: stamp(-time.Minute)}, true, nil},
		{"a signed call at the window's near edge", creds, map[string]string{SignatureHeader: "sha256=00", TimestampHeader: stamp(time.Minute)}, true, nil},
		{"a signed call a second past the window", creds, map[string]string{SignatureHeader: "sha256=00", TimestampHeader: stamp(-time.Minute - time.Second)}, false, errStale},
		{"a signed call a second before the window", creds, map[string]string{SignatureHeader: "sha256=00", TimestampHeader: stamp(time.Minute + time.Second)}, false, errStale},
		{"nothing configured", Credentials{}, map[string]string{"Authorization": "Bearer s3cret"}, false, errNotConfigured},
	} {
		h := http.Header{}
		for k, val := range tt.headers {
			h.Set(k, val)
		}
		bodyNeeded, err := v.Precheck(tt.creds, h, now)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) || bodyNeeded != tt.bodyNeeded {
			t.Errorf("%s: Precheck = %v, %v; want %v, %v", tt.name, bodyNeeded, err, tt.bodyNeeded, tt.err)
		}
	}
}
