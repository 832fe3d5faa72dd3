// Package signature verifies webhook deliveries as each sender documents
// its signature scheme.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Type names a sender's signature scheme.
type Type string

// Types is every supported type, in a stable order.
var Types = []Type{"contentful", "sanity", "storyblok", "hygraph", "ghost",
	"standard-webhooks", "github", "bearer", "basic", "isr"}

// Secret is what a receiver's Secret holds.
type Secret struct {
	// Value is the key `secret`.
	Value []byte
	// Username and Password are the keys of type basic.
	Username, Password []byte
}

// Delivery is one request as received.
type Delivery struct {
	// Method is the request's method.
	Method string
	// Path is the request's path as received.
	Path string
	// Header is the request's header.
	Header http.Header
	// Body is the request's body.
	Body []byte
}

// Verified is what a verified delivery is known by.
type Verified struct {
	// ID is the delivery's id for the replay check.
	ID string
	// Timestamp is the signed timestamp; zero for schemes without one.
	Timestamp time.Time
}

// Reasons a delivery is refused; errors wrap one of them.
var (
	// ErrMissing: a header the scheme needs is absent.
	ErrMissing = errors.New("missing signature")
	// ErrMalformed: a header cannot be read.
	ErrMalformed = errors.New("malformed signature")
	// ErrBadSignature: the signature or credentials do not match.
	ErrBadSignature = errors.New("invalid signature")
	// ErrStale: the signed timestamp is outside the window.
	ErrStale = errors.New("timestamp outside the accepted window")
)

// Header names of the schemes implemented here.
const (
	isrSignature = "X-Isr-Signature"
	isrTimestamp = "X-Isr-Timestamp"
)

// Verify checks d against s as typ's sender documents; window bounds
// |now - timestamp| for timestamped schemes.
func Verify(typ Type, s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error) {
	if err := Precheck(typ, s, d.Header, now, window); err != nil {
		return Verified{}, err
	}
	switch typ {
	case "bearer":
		tok := strings.TrimSpace(d.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(tok))
		return Verified{ID: hex.EncodeToString(sum[:])}, nil
	case "isr":
		ts := d.Header.Get(isrTimestamp)
		got, _ := hex.DecodeString(strings.TrimPrefix(d.Header.Get(isrSignature), "sha256="))
		m := hmac.New(sha256.New, s.Value)
		m.Write([]byte(ts + "."))
		m.Write(d.Body)
		if !hmac.Equal(got, m.Sum(nil)) {
			return Verified{}, fmt.Errorf("%s does not match the body: %w", isrSignature, ErrBadSignature)
		}
		unix, _ := strconv.ParseInt(ts, 10, 64)
		return Verified{ID: hex.EncodeToString(got), Timestamp: time.Unix(unix, 0)}, nil
	}
	return Verified{}, fmt.Errorf("type %q is not supported", typ)
}

// Precheck refuses what can be refused before the body is read.
func Precheck(typ Type, s Secret, h http.Header, now time.Time, window time.Duration) error {
	switch typ {
	case "bearer":
		auth := h.Get("Authorization")
		if auth == "" {
			return fmt.Errorf("no Authorization header: %w", ErrMissing)
		}
		scheme, tok, _ := strings.Cut(strings.TrimSpace(auth), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return fmt.Errorf("authorization is not a bearer token: %w", ErrMalformed)
		}
		a, b := sha256.Sum256([]byte(strings.TrimSpace(tok))), sha256.Sum256(s.Value)
		if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
			return fmt.Errorf("bearer token: %w", ErrBadSignature)
		}
		return nil
	case "isr":
		sig, ts := h.Get(isrSignature), h.Get(isrTimestamp)
		if sig == "" || ts == "" {
			return fmt.Errorf("send %s and %s: %w", isrSignature, isrTimestamp, ErrMissing)
		}
		if _, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256=")); err != nil || !strings.HasPrefix(sig, "sha256=") {
			return fmt.Errorf("%s is not sha256=<hex>: %w", isrSignature, ErrMalformed)
		}
		unix, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("%s is not a Unix time: %w", isrTimestamp, ErrMalformed)
		}
		if d := now.Sub(time.Unix(unix, 0)); d > window || d < -window {
			return fmt.Errorf("%s: %w", isrTimestamp, ErrStale)
		}
		return nil
	}
	return fmt.Errorf("type %q is not supported", typ)
}
