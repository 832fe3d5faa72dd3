// Package signature verifies webhook deliveries as each sender documents its signing scheme.
//
// Each Type is one sender's scheme, implemented from that sender's own
// documentation and SDK (cited on each scheme's file). Verify checks a whole
// delivery; Precheck refuses what can be refused from the headers alone, so
// a server need not read the body of a delivery that cannot be valid.
// Signatures and credentials are compared in constant time, every header
// parsed is bounded by MaxHeaderBytes, and no input makes either function
// panic. The Sign functions (sign.go) produce valid deliveries for tests and
// tools.
package signature

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Type names a sender's signature scheme; it is WebhookReceiver's spec.type.
type Type string

// The supported types.
const (
	// Contentful is Contentful's webhook request verification: an
	// HMAC-SHA256 over method, path, signed headers and body.
	Contentful Type = "contentful"
	// Sanity is Sanity's sanity-webhook-signature: t=<ms>,v1=<base64url>.
	Sanity Type = "sanity"
	// Storyblok is Storyblok's webhook-signature: HMAC-SHA1 of the body, hex.
	Storyblok Type = "storyblok"
	// Hygraph is Hygraph's gcms-signature: sign=<base64>, env=<env>, t=<ms>.
	Hygraph Type = "hygraph"
	// Ghost is Ghost's x-ghost-signature: sha256=<hex>, t=<ms>.
	Ghost Type = "ghost"
	// StandardWebhooks is the Standard Webhooks specification (webhook-id,
	// webhook-timestamp, webhook-signature), Svix's headers accepted too.
	StandardWebhooks Type = "standard-webhooks"
	// GitHub is GitHub's x-hub-signature-256: sha256=<hex> of the body.
	GitHub Type = "github"
	// Bearer is a static secret sent as "Authorization: Bearer <secret>",
	// for senders that do not sign (Strapi, Directus).
	Bearer Type = "bearer"
	// Basic is HTTP Basic authentication with a username and password
	// (DatoCMS).
	Basic Type = "basic"
	// ISR is the revalidate API's own X-Isr-Signature and X-Isr-Timestamp.
	ISR Type = "isr"
)

// Types lists every supported type, in a fixed order.
var Types = []Type{Contentful, Sanity, Storyblok, Hygraph, Ghost, StandardWebhooks, GitHub, Bearer, Basic, ISR}

// Secret is what a receiver verifies with, read from its Secret.
type Secret struct {
	// Value is the Secret's key `secret`: the signing secret, or the bearer
	// token; for standard-webhooks the `whsec_<base64>` value as the sender
	// shows it.
	Value []byte
	// Username is the Secret's key `username`, for basic.
	Username []byte
	// Password is the Secret's key `password`, for basic.
	Password []byte
}

// Delivery is one webhook request as received.
type Delivery struct {
	// Method is the request's method.
	Method string
	// Path is the request's path (and query) as received; Contentful signs it.
	Path string
	// Header is the request's headers.
	Header http.Header
	// Body is the request's raw body.
	Body []byte
}

// Verified is what a verified delivery tells about itself.
type Verified struct {
	// ID identifies the delivery for the replay check: webhook-id (or
	// svix-id), X-Contentful-Idempotency-Key when Contentful signed it, else
	// a hex SHA-256 digest of the signature. It is empty for bearer and
	// basic, whose deliveries carry nothing that differs from one to the
	// next.
	ID string
	// Timestamp is the signed timestamp; zero for schemes without one
	// (storyblok, github, bearer, basic).
	Timestamp time.Time
}

// The errors Verify and Precheck return, each wrapped with detail.
var (
	// ErrMissing is a required header that was not sent.
	ErrMissing = errors.New("missing header")
	// ErrMalformed is a header (or body) not in the form the scheme defines.
	ErrMalformed = errors.New("malformed header")
	// ErrBadSignature is a signature or credential that does not match.
	ErrBadSignature = errors.New("invalid signature")
	// ErrStale is a signed timestamp outside the window.
	ErrStale = errors.New("timestamp outside the accepted window")
	// ErrSecret is a Secret the type cannot verify with (empty, or not in
	// the form the type needs); no delivery verifies against it.
	ErrSecret = errors.New("unusable secret")
	// ErrUnknownType is a Type not in Types.
	ErrUnknownType = errors.New("unknown signature type")
)

// MaxHeaderBytes bounds each header value the package parses; a longer one
// is ErrMalformed.
const MaxHeaderBytes = 4096

// scheme is one type's checks: precheck those on headers, verify the
// whole delivery (repeating precheck's).
type scheme struct {
	precheck func(s Secret, h http.Header, now time.Time, window time.Duration) error
	verify   func(s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error)
}

// schemes maps each type to its checks.
var schemes = map[Type]scheme{
	Contentful:       {precheckContentful, verifyContentful},
	Sanity:           {precheckSanity, verifySanity},
	Storyblok:        {precheckStoryblok, verifyStoryblok},
	Hygraph:          {precheckHygraph, verifyHygraph},
	Ghost:            {precheckGhost, verifyGhost},
	StandardWebhooks: {precheckStandardWebhooks, verifyStandardWebhooks},
	GitHub:           {precheckGitHub, verifyGitHub},
	Bearer:           {precheckBearer, verifyBearer},
	Basic:            {precheckBasic, verifyBasic},
	ISR:              {precheckISR, verifyISR},
}

// Verify checks d against s as typ's sender documents; window bounds |now - timestamp| for timestamped schemes.
func Verify(typ Type, s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error) {
	sc, ok := schemes[typ]
	if !ok {
		return Verified{}, fmt.Errorf("%w %q", ErrUnknownType, typ)
	}
	if d.Header == nil {
		d.Header = http.Header{}
	}
	return sc.verify(s, d, now, window)
}

// Precheck refuses what can be refused before the body is read (missing/malformed headers,
// stale timestamp, wrong bearer/basic credentials); Verify repeats these checks.
func Precheck(typ Type, s Secret, h http.Header, now time.Time, window time.Duration) error {
	sc, ok := schemes[typ]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownType, typ)
	}
	if h == nil {
		h = http.Header{}
	}
	return sc.precheck(s, h, now, window)
}

// CheckSecret reports whether typ can verify anything with s: an error
// wrapping ErrSecret (or ErrUnknownType) says why not. A receiver's
// controller can use it to report a bad Secret before any delivery.
func CheckSecret(typ Type, s Secret) error {
	if !slices.Contains(Types, typ) {
		return fmt.Errorf("%w %q", ErrUnknownType, typ)
	}
	switch typ {
	case Basic:
		if len(s.Username) == 0 || len(s.Password) == 0 {
			return fmt.Errorf("%w: basic needs the keys username and password", ErrSecret)
		}
		if bytes.IndexByte(s.Username, ':') >= 0 {
			return fmt.Errorf("%w: a basic username cannot contain a colon", ErrSecret)
		}
		return nil
	case Bearer:
		if len(s.Value) == 0 {
			return fmt.Errorf("%w: bearer needs the key secret", ErrSecret)
		}
		// A header value loses surrounding white space on the way and
		// cannot carry control characters (a trailing newline, say, from
		// a file the Secret was made from).
		if bytes.ContainsFunc(s.Value, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
			s.Value[0] == ' ' || s.Value[len(s.Value)-1] == ' ' {
			return fmt.Errorf("%w: a bearer token cannot contain control characters or surrounding spaces", ErrSecret)
		}
		return nil
	case StandardWebhooks:
		_, err := standardWebhooksKey(s)
		return err
	default:
		if len(s.Value) == 0 {
			return fmt.Errorf("%w: %s needs the key secret", ErrSecret, typ)
		}
		return nil
	}
}

// single returns the one value of header name: ErrMissing when absent or
// empty, ErrMalformed when sent more than once or longer than
// MaxHeaderBytes.
func single(h http.Header, name string) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0 || (len(vs) == 1 && vs[0] == ""):
		return "", fmt.Errorf("%w %s", ErrMissing, name)
	case len(vs) > 1:
		return "", fmt.Errorf("%w: %s sent %d times", ErrMalformed, name, len(vs))
	case len(vs[0]) > MaxHeaderBytes:
		return "", fmt.Errorf("%w: %s longer than %d bytes", ErrMalformed, name, MaxHeaderBytes)
	}
	return vs[0], nil
}

// maxDigits bounds a timestamp's digits, so that any accepted one is a
// valid time (milliseconds up to the year 300000).
const maxDigits = 16

// parseTimestamp reads a timestamp of decimal digits only, in unit
// (time.Second or time.Millisecond).
func parseTimestamp(name, v string, unit time.Duration) (time.Time, error) {
	if v == "" || len(v) > maxDigits {
		return time.Time{}, fmt.Errorf("%w: %s is not a timestamp", ErrMalformed, name)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return time.Time{}, fmt.Errorf("%w: %s is not a timestamp", ErrMalformed, name)
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
	}
	if unit == time.Millisecond {
		return time.UnixMilli(n), nil
	}
	return time.Unix(n, 0), nil
}

// inWindow refuses a timestamp more than window away from now, either way.
func inWindow(ts, now time.Time, window time.Duration) error {
	if d := now.Sub(ts); d > window || d < -window {
		return fmt.Errorf("%w: signed at %s, %s from now, window %s", ErrStale, ts.UTC().Format(time.RFC3339Nano), d.Round(time.Millisecond), window)
	}
	return nil
}

// requireSecret refuses an empty secret: no delivery verifies against it.
func requireSecret(typ Type, s Secret) error {
	if len(s.Value) == 0 {
		return fmt.Errorf("%w: %s needs the key secret", ErrSecret, typ)
	}
	return nil
}

// digestID is the replay ID of a scheme without a delivery id: the hex
// SHA-256 of the signature as sent (or as decoded, where the scheme
// accepts more than one spelling of it).
func digestID(sig []byte) string {
	sum := sha256.Sum256(sig)
	return hex.EncodeToString(sum[:])
}

// equalString compares a presented value with the expected one in
// constant time for equal lengths; a length differing tells only that.
func equalString(presented, want string) bool {
	return subtle.ConstantTimeCompare([]byte(presented), []byte(want)) == 1
}

// equalSecret compares a presented credential with the configured one
// without leaking, through timing, how much matched or how long it is.
func equalSecret(presented, want []byte) bool {
	a, b := sha256.Sum256(presented), sha256.Sum256(want)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// decodeHex decodes a hex signature of exactly size bytes (either case).
func decodeHex(name, v string, size int) ([]byte, error) {
	if len(v) != 2*size {
		return nil, fmt.Errorf("%w: %s is not %d hex digits", ErrMalformed, name, 2*size)
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
	}
	return b, nil
}
