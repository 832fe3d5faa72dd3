// Package digest is the one home of the content digest: "sha256:" and the
// 64 lowercase hex digits of the SHA-256 of a page's uncompressed body. It
// computes, parses, validates and formats it, and holds it compactly.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Prefix starts every digest.
const Prefix = "sha256:"

// Size is the bytes of a digest's sum.
const Size = sha256.Size

// length is the length of a digest's text.
const length = len(Prefix) + 2*Size

// Sum is a digest's SHA-256 sum.
type Sum [Size]byte

// Of is the digest of body.
func Of(body []byte) string { return Sum(sha256.Sum256(body)).String() }

// String is the digest text of s: Prefix and 64 lowercase hex digits.
func (s Sum) String() string {
	var out [length]byte
	copy(out[:], Prefix)
	hex.Encode(out[len(Prefix):], s[:])
	return string(out[:])
}

// Hex is the 64 lowercase hex digits of s, as object keys and ETags hold
// them.
func (s Sum) Hex() string { return hex.EncodeToString(s[:]) }

// Parse reads the digest text s, failing unless it is Prefix and 64
// lowercase hex digits, so that formatting the sum gives s back.
func Parse(s string) (Sum, error) {
	var sum Sum
	if !parse(s, &sum) {
		return Sum{}, fmt.Errorf("digest %q is not %s<64 lowercase hex digits>", s, Prefix)
	}
	return sum, nil
}

// Valid reports whether s is a digest as Parse reads one.
func Valid(s string) bool {
	var sum Sum
	return parse(s, &sum)
}

// Hex is the part of the digest text s after Prefix (s itself when it has
// none), for ETags and tokens derived from a digest.
func Hex(s string) string { return strings.TrimPrefix(s, Prefix) }

// parse reads s into sum, reporting whether s was a digest; it allocates
// nothing.
func parse(s string, sum *Sum) bool {
	if len(s) != length || s[:len(Prefix)] != Prefix {
		return false
	}
	h := s[len(Prefix):]
	for i := range sum {
		hi, ok1 := hexValue(h[2*i])
		lo, ok2 := hexValue(h[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		sum[i] = hi<<4 | lo
	}
	return true
}

// hexValue is the value of a lowercase hex digit.
func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
