package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Hygraph's signed webhooks, as documented at
// https://hygraph.com/docs/api-reference/basics/webhooks and implemented by
// verifyWebhookSignature of @hygraph/utils
// (https://www.npmjs.com/package/@hygraph/utils, also published as
// https://www.npmjs.com/package/@graphcms/utils): the header gcms-signature is
// "sign=<base64>, env=<environment>, t=<ms>", sign the base64 HMAC-SHA256,
// keyed with the secret, of JavaScript's JSON.stringify of
// {Body: <raw body>, EnvironmentName: <environment>, TimeStamp: <t>}.
const hygraphSignature = "Gcms-Signature"

// hygraphHeader is the parsed form of a gcms-signature header.
type hygraphHeader struct {
	sign, env string
	timestamp time.Time
}

// parseHygraph reads the signature header and checks its timestamp
// against the window.
func parseHygraph(s Secret, h http.Header, now time.Time, window time.Duration) (hygraphHeader, error) {
	if err := requireSecret(Hygraph, s); err != nil {
		return hygraphHeader{}, err
	}
	v, err := single(h, hygraphSignature)
	if err != nil {
		return hygraphHeader{}, err
	}
	parts := strings.Split(v, ", ")
	if len(parts) != 3 {
		return hygraphHeader{}, fmt.Errorf("%w: %s is not sign=<base64>, env=<environment>, t=<ms>", ErrMalformed, hygraphSignature)
	}
	sign, okSign := strings.CutPrefix(parts[0], "sign=")
	env, okEnv := strings.CutPrefix(parts[1], "env=")
	ts, okTs := strings.CutPrefix(parts[2], "t=")
	if !okSign || !okEnv || !okTs || !utf8.ValidString(env) {
		return hygraphHeader{}, fmt.Errorf("%w: %s is not sign=<base64>, env=<environment>, t=<ms>", ErrMalformed, hygraphSignature)
	}
	if mac, err := base64.StdEncoding.DecodeString(sign); err != nil || len(mac) != sha256.Size {
		return hygraphHeader{}, fmt.Errorf("%w: %s sign is not a base64 HMAC-SHA256", ErrMalformed, hygraphSignature)
	}
	t, err := parseTimestamp(hygraphSignature, ts, time.Millisecond)
	if err != nil {
		return hygraphHeader{}, err
	}
	if err := inWindow(t, now, window); err != nil {
		return hygraphHeader{}, err
	}
	return hygraphHeader{sign: sign, env: env, timestamp: t}, nil
}

func precheckHygraph(s Secret, h http.Header, now time.Time, window time.Duration) error {
	_, err := parseHygraph(s, h, now, window)
	return err
}

func verifyHygraph(s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error) {
	hh, err := parseHygraph(s, d.Header, now, window)
	if err != nil {
		return Verified{}, err
	}
	if !utf8.Valid(d.Body) {
		return Verified{}, fmt.Errorf("%w: the body is not UTF-8", ErrMalformed)
	}
	want := base64.StdEncoding.EncodeToString(hygraphMAC(s.Value, d.Body, hh.env, hh.timestamp))
	if !equalString(hh.sign, want) {
		return Verified{}, fmt.Errorf("%w: %s does not match", ErrBadSignature, hygraphSignature)
	}
	return Verified{ID: digestID([]byte(hh.sign)), Timestamp: hh.timestamp}, nil
}

// hygraphMAC is the HMAC-SHA256 of the JSON document Hygraph signs.
func hygraphMAC(secret, body []byte, env string, t time.Time) []byte {
	var b strings.Builder
	b.Grow(len(body) + len(env) + 64)
	b.WriteString(`{"Body":`)
	jsQuote(&b, string(body))
	b.WriteString(`,"EnvironmentName":`)
	jsQuote(&b, env)
	b.WriteString(`,"TimeStamp":`)
	b.WriteString(strconv.FormatInt(t.UnixMilli(), 10))
	b.WriteByte('}')
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(b.String()))
	return m.Sum(nil)
}

// jsQuote writes s (valid UTF-8) as JavaScript's JSON.stringify quotes a
// string: '"' and '\' escaped, \b \f \n \r \t by name, other control
// characters as \u00xx (lower-case hex), everything else as it is (unlike
// encoding/json, which also escapes <, >, & and U+2028/U+2029).
func jsQuote(b *strings.Builder, s string) {
	const digits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(digits[c>>4])
				b.WriteByte(digits[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}
