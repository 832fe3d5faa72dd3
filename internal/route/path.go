package route

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxRouteLength is the longest spec.route, in characters.
const MaxRouteLength = 2048

// Errors of ValidateRoute; where the CRD has a rule with a message, the
// error is that message word for word.
var (
	errRouteEmpty      = errors.New("route must not be empty")
	errRouteTooLong    = errors.New("route must be at most 2048 characters long")
	errRouteUTF8       = errors.New("route must be valid UTF-8")
	errRouteAbsolute   = errors.New("route must be an absolute path starting with '/'")
	errRouteQuery      = errors.New("route must not contain a query ('?') or fragment ('#')")
	errRouteDots       = errors.New("route must not contain '.' or '..' segments")
	errRouteSpace      = errors.New("route must not contain whitespace or control characters")
	errRouteEmptySeg   = errors.New("route must not contain empty segments ('//')")
	errRoutePercentHex = errors.New("route must not contain percent-encoded characters such as '%2e': write the decoded path")
)

// ValidateRoute accepts exactly the routes spec.route accepts: an absolute
// path of at most 2048 characters with no query, fragment, '.' or '..'
// segment, empty segment, whitespace, control character or
// percent-encoded sequence (routes are held decoded). It also refuses
// invalid UTF-8, which the API server cannot receive as written.
func ValidateRoute(route string) error {
	switch {
	case route == "":
		return errRouteEmpty
	case len(route) > MaxRouteLength && utf8.RuneCountInString(route) > MaxRouteLength:
		// OpenAPI maxLength counts code points, not bytes.
		return errRouteTooLong
	case !utf8.ValidString(route):
		return errRouteUTF8
	case route[0] != '/':
		return errRouteAbsolute
	case strings.ContainsAny(route, "?#"):
		return errRouteQuery
	case hasDotSegment(route):
		return errRouteDots
	case strings.ContainsFunc(route, isSpaceOrControl):
		return errRouteSpace
	case strings.Contains(route, "//"):
		return errRouteEmptySeg
	case hasPercentHex(route):
		return errRoutePercentHex
	}
	return nil
}

// isSpaceOrControl is the CRD's [\s\x00-\x1f\x7f]: RE2's \s is ASCII
// whitespace only ([\t\n\f\r ]).
func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// hasDotSegment reports whether a '/'-separated path has a "." or ".."
// segment.
func hasDotSegment(p string) bool {
	for p != "" {
		seg, rest, _ := strings.Cut(p, "/")
		if seg == "." || seg == ".." {
			return true
		}
		p = rest
	}
	return false
}

// hasPercentHex reports whether s holds '%' followed by two hex digits: a
// percent-encoded byte, which a route (held decoded) must not spell.
func hasPercentHex(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2]) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// RequestPath is the route a request target's path is served from:
// percent-encoding decoded exactly as net/http decodes a request target
// into r.URL.Path. It refuses what is not a request path (relative, with a
// query or fragment, with control characters or a bad escape).
func RequestPath(escaped string) (string, error) {
	if !strings.HasPrefix(escaped, "/") {
		return "", errors.New("path must be absolute, starting with '/'")
	}
	if strings.ContainsAny(escaped, "?#") {
		return "", errors.New("path must not contain a query ('?') or fragment ('#')")
	}
	u, err := url.ParseRequestURI(escaped)
	if err != nil {
		return "", fmt.Errorf("path is not a request path: %w", err)
	}
	return u.Path, nil
}

// EscapeRoute is a route (decoded, as spec.route holds it) as a request
// path writes it: each segment percent-encoded as url.PathEscape does, so
// that RequestPath gives the route back.
func EscapeRoute(decoded string) string {
	segs := strings.Split(decoded, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
