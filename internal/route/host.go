package route

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxHostLength is the longest spec.host, in characters.
const MaxHostLength = 260

// MaxHostNameLength is the longest host name in spec.host, port excluded:
// the longest DNS name.
const MaxHostNameLength = 253

// hostPattern is spec.host's OpenAPI pattern, verbatim.
var hostPattern = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$`)

// Errors of ValidateHost, worded as the CRD words them.
var (
	errHostTooLong  = errors.New("host must be at most 260 characters long")
	errHostPattern  = errors.New("host must be a lowercase host name with an optional :port, such as shop.example.com or shop.example.com:8080")
	errHostNameLong = errors.New("host name must be at most 253 characters long")
	errHostPort     = errors.New("host port must be a number from 1 to 65535")
)

// ValidateHost accepts exactly the hosts spec.host accepts: empty (any
// host), or a lowercase DNS name of at most 253 characters with an optional
// port from 1 to 65535.
func ValidateHost(host string) error {
	if host == "" {
		return nil
	}
	// OpenAPI maxLength counts code points.
	if utf8.RuneCountInString(host) > MaxHostLength {
		return errHostTooLong
	}
	if !hostPattern.MatchString(host) {
		return errHostPattern
	}
	name, port, hasPort := strings.Cut(host, ":")
	if len(name) > MaxHostNameLength {
		return errHostNameLong
	}
	if hasPort {
		// The pattern allows 1 to 5 digits only.
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errHostPort
		}
	}
	return nil
}

// NormalizeHost lowercases a Host header and drops the trailing dots of its
// name, so that every spelling of a host finds the page for it. Only ASCII
// letters are folded: host names are ASCII, and Unicode folding would let a
// name such as "\u212Aey.example" (Kelvin sign) reach the page of
// "key.example". It is idempotent and does not allocate when host is
// already normal.
func NormalizeHost(host string) string {
	host = asciiLower(host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		if i > 0 && host[i-1] == '.' {
			return strings.TrimRight(host[:i], ".") + host[i:]
		}
		return host
	}
	return strings.TrimRight(host, ".")
}

// asciiLower lowercases ASCII letters, allocating only when there is one.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// HostMatches reports whether a request for host reaches a page declared
// for pageHost, as Index.Lookup routes it: any host for "", else the same
// host, with or without the request's port.
func HostMatches(pageHost, host string) bool {
	pageHost = NormalizeHost(pageHost)
	if pageHost == "" {
		return true
	}
	host = NormalizeHost(host)
	if host == pageHost {
		return true
	}
	name, ok := withoutPort(host)
	return ok && name == pageHost
}

// withoutPort returns a normalised host without its :port, if it has one
// (a bracketed IPv6 literal without a port has none).
func withoutPort(host string) (string, bool) {
	i := strings.LastIndexByte(host, ':')
	if i <= 0 || strings.HasSuffix(host, "]") {
		return "", false
	}
	return host[:i], true
}
