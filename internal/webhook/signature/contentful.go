package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Contentful's webhook request verification, as documented at
// https://www.contentful.com/developers/docs/webhooks/request-verification/
// and implemented by verifyRequest and signRequest of
// https://github.com/contentful/node-apps-toolkit (src/requests): the
// signature is the hex HMAC-SHA256, keyed with the signing secret, of
// method, path, the signed headers ("name:value" sorted by name, joined by
// ";") and body, joined by "\n". The signed headers always include
// x-contentful-signed-headers and x-contentful-timestamp (milliseconds).
const (
	contentfulSignature     = "X-Contentful-Signature"
	contentfulSignedHeaders = "X-Contentful-Signed-Headers"
	contentfulTimestamp     = "X-Contentful-Timestamp"
	contentfulIdempotency   = "x-contentful-idempotency-key"
	// contentfulMinTimestamp is the toolkit's lower bound on a timestamp
	// (2020-01-01 in milliseconds).
	contentfulMinTimestamp = 1577836800000
)

// contentfulMethods are the methods the toolkit accepts in a canonical request.
var contentfulMethods = []string{"GET", "PATCH", "HEAD", "POST", "DELETE", "OPTIONS", "PUT"}

// contentfulHeaders is the parsed form of a Contentful delivery's signing headers.
type contentfulHeaders struct {
	signature string
	signed    []string
	timestamp time.Time
}

// parseContentful reads and checks the signing headers, and the timestamp
// against the window.
func parseContentful(s Secret, h http.Header, now time.Time, window time.Duration) (contentfulHeaders, error) {
	if err := requireSecret(Contentful, s); err != nil {
		return contentfulHeaders{}, err
	}
	sig, err := single(h, contentfulSignature)
	if err != nil {
		return contentfulHeaders{}, err
	}
	if len(sig) != 2*sha256.Size {
		return contentfulHeaders{}, fmt.Errorf("%w: %s is not %d characters", ErrMalformed, contentfulSignature, 2*sha256.Size)
	}
	list, err := single(h, contentfulSignedHeaders)
	if err != nil {
		return contentfulHeaders{}, err
	}
	signed := strings.Split(list, ",")
	if len(signed) < 2 {
		return contentfulHeaders{}, fmt.Errorf("%w: %s lists fewer than two headers", ErrMalformed, contentfulSignedHeaders)
	}
	ts, err := single(h, contentfulTimestamp)
	if err != nil {
		return contentfulHeaders{}, err
	}
	t, err := parseTimestamp(contentfulTimestamp, ts, time.Millisecond)
	if err != nil {
		return contentfulHeaders{}, err
	}
	if t.UnixMilli() <= contentfulMinTimestamp {
		return contentfulHeaders{}, fmt.Errorf("%w: %s before 2020", ErrMalformed, contentfulTimestamp)
	}
	if err := inWindow(t, now, window); err != nil {
		return contentfulHeaders{}, err
	}
	return contentfulHeaders{signature: sig, signed: signed, timestamp: t}, nil
}

func precheckContentful(s Secret, h http.Header, now time.Time, window time.Duration) error {
	_, err := parseContentful(s, h, now, window)
	return err
}

func verifyContentful(s Secret, d Delivery, now time.Time, window time.Duration) (Verified, error) {
	ch, err := parseContentful(s, d.Header, now, window)
	if err != nil {
		return Verified{}, err
	}
	picked := contentfulPick(d.Header, ch.signed)
	mac, err := contentfulMAC(s.Value, d.Method, d.Path, picked, ch.timestamp, d.Body)
	if err != nil {
		return Verified{}, err
	}
	if !equalString(ch.signature, hex.EncodeToString(mac)) {
		return Verified{}, fmt.Errorf("%w: %s does not match", ErrBadSignature, contentfulSignature)
	}
	id := picked[contentfulIdempotency]
	if id == "" {
		id = digestID([]byte(ch.signature))
	}
	return Verified{ID: id, Timestamp: ch.timestamp}, nil
}

// contentfulPick returns the headers named in signed, as the toolkit
// normalises them: names lower-cased and trimmed, values trimmed, a name
// sent more than once joined by ", " (as Node.js joins it). A listed name
// must match the lower-cased name exactly; one not sent is left out.
func contentfulPick(h http.Header, signed []string) map[string]string {
	values := make(map[string][]string, len(signed))
	// In name order, so that names differing only in case join the same
	// way every time.
	for _, name := range slices.Sorted(maps.Keys(h)) {
		key := strings.ToLower(jsTrim(name))
		if slices.Contains(signed, key) {
			values[key] = append(values[key], h[name]...)
		}
	}
	picked := make(map[string]string, len(values))
	for key, vs := range values {
		picked[key] = jsTrim(strings.Join(vs, ", "))
	}
	return picked
}

// contentfulMAC is the HMAC of the canonical request. headers are the
// signed headers (lower-cased names), to which it sets the timestamp and the
// list of signed headers, as the signer does.
func contentfulMAC(secret []byte, method, path string, headers map[string]string, ts time.Time, body []byte) ([]byte, error) {
	if !slices.Contains(contentfulMethods, method) {
		return nil, fmt.Errorf("%w: method %q cannot be signed", ErrMalformed, method)
	}
	canonicalPath, err := contentfulPath(path)
	if err != nil {
		return nil, err
	}
	all := make(map[string]string, len(headers)+2)
	maps.Copy(all, headers)
	all[strings.ToLower(contentfulTimestamp)] = strconv.FormatInt(ts.UnixMilli(), 10)
	all[strings.ToLower(contentfulSignedHeaders)] = ""
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	slices.Sort(names)
	all[strings.ToLower(contentfulSignedHeaders)] = strings.Join(names, ",")

	m := hmac.New(sha256.New, secret)
	m.Write([]byte(method))
	m.Write([]byte{'\n'})
	m.Write([]byte(canonicalPath))
	m.Write([]byte{'\n'})
	for i, k := range names {
		if i > 0 {
			m.Write([]byte{';'})
		}
		m.Write([]byte(k))
		m.Write([]byte{':'})
		m.Write([]byte(all[k]))
	}
	m.Write([]byte{'\n'})
	m.Write(body)
	return m.Sum(nil), nil
}

// contentfulPath is the toolkit's getNormalizedEncodedURI: the query (up
// to a second "?", which is dropped with what follows) escaped as Node.js's
// querystring.escape does, then the whole as JavaScript's encodeURI does.
func contentfulPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") || !utf8.ValidString(p) {
		return "", fmt.Errorf("%w: path %q is not a canonical URI", ErrMalformed, p)
	}
	parts := strings.Split(p, "?")
	u := parts[0]
	if len(parts) > 1 && parts[1] != "" {
		u += "?" + percentEncode(parts[1], componentUnescaped)
	}
	return percentEncode(u, uriUnescaped), nil
}

// The bytes JavaScript leaves as they are: encodeURIComponent's (and
// querystring.escape's) set, and encodeURI's, which adds the URI's
// reserved characters.
const (
	componentUnescaped = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"
	uriUnescaped       = componentUnescaped + ";,/?:@&=+$#"
)

// percentEncode escapes every byte of s not in keep as %XX (upper-case hex).
func percentEncode(s, keep string) string {
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&0xf])
	}
	return b.String()
}

// jsTrim is JavaScript's String.prototype.trim: white space and line
// terminators, which include U+FEFF.
func jsTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' })
}
