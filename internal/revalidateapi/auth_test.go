package revalidateapi

import (
	"errors"
	"net/http"
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
