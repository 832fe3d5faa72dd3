package kube

import "encoding/hex"

// CompactDigest holds a status.digest in 32 bytes when it is "sha256:" and
// 64 lowercase hex digits, as every render's is, and as text otherwise:
// the server keeps one per page twice (its cached StaticPage and its table
// entry), and the text takes 80 bytes of heap on top of the string header.
// The zero value is the empty digest.
type CompactDigest struct {
	sum [sha256Size]byte
	// text is a digest not in the form sum holds; nil when sum holds it.
	text *string
}

const (
	sha256Size   = 32
	digestPrefix = "sha256:"
)

// NewCompactDigest holds s.
func NewCompactDigest(s string) CompactDigest {
	var d CompactDigest
	if s == "" {
		return d
	}
	if !parseDigest(s, &d.sum) || d.sum == ([sha256Size]byte{}) {
		// The zero sum stands for no digest: a digest of zeros is text.
		text := s
		d.sum, d.text = [sha256Size]byte{}, &text
	}
	return d
}

// String is the digest as status.digest has it.
func (d CompactDigest) String() string {
	if d.text != nil {
		return *d.text
	}
	if d.sum == ([sha256Size]byte{}) {
		return ""
	}
	var out [len(digestPrefix) + 2*sha256Size]byte
	copy(out[:], digestPrefix)
	hex.Encode(out[len(digestPrefix):], d.sum[:])
	return string(out[:])
}

// Is reports whether d holds s, without building d's text.
func (d CompactDigest) Is(s string) bool {
	if d.text != nil {
		return *d.text == s
	}
	var sum [sha256Size]byte
	if s == "" {
		return d.sum == sum
	}
	return parseDigest(s, &sum) && sum == d.sum && sum != [sha256Size]byte{}
}

// IsZero reports whether d is the empty digest.
func (d CompactDigest) IsZero() bool { return d.text == nil && d.sum == [sha256Size]byte{} }

// parseDigest reads "sha256:" and 64 lowercase hex digits into b, reporting
// whether s was that.
func parseDigest(s string, b *[sha256Size]byte) bool {
	if len(s) != len(digestPrefix)+2*sha256Size || s[:len(digestPrefix)] != digestPrefix {
		return false
	}
	return lowerHex(s[len(digestPrefix):], b[:])
}

// lowerHex decodes h into b (len(h) == 2*len(b)) when h is only lowercase
// hex digits, so that encoding b again gives h back.
func lowerHex(h string, b []byte) bool {
	for i := range b {
		hi, ok1 := hexValue(h[2*i])
		lo, ok2 := hexValue(h[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		b[i] = hi<<4 | lo
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
