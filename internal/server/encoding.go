package server

import (
	"slices"
	"strconv"
	"strings"

	"github.com/isr-operator/isr-operator/internal/storage"
)

// coding is a content coding the server keeps a page in.
type coding int

const (
	identity coding = iota
	codingGzip
	codingBrotli
	numCodings
)

// representation is a page's body in one coding, with the headers that go
// with it, preformatted so serving allocates nothing for them.
type representation struct {
	body            []byte
	etag            []string
	length          []string
	contentEncoding []string
}

func newRepresentation(body []byte, etag string, enc string) representation {
	r := representation{body: body, etag: []string{etag}, length: []string{strconv.Itoa(len(body))}}
	if enc != "" {
		r.contentEncoding = []string{enc}
	}
	return r
}

// compressBrotli returns body in brotli, or nil when that is no smaller
// than gzip, so it is never worth sending.
func compressBrotli(body []byte, gzipLen int) []byte {
	br, err := storage.Brotli(body)
	if err != nil || len(br) >= gzipLen {
		return nil
	}
	return br
}

// exact returns b with no spare capacity, copying it when it has more than
// a little: a page is held for as long as it is served, and growing
// buffers leave up to half of their memory unused.
func exact(b []byte) []byte {
	if cap(b)-len(b) <= len(b)/64 {
		return slices.Clip(b)
	}
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// negotiate picks the coding to send for an Accept-Encoding header among
// those the page has: the highest q value, brotli before gzip before
// identity on a tie. Identity is the answer when nothing else is
// acceptable, as most servers do rather than answer 406.
func negotiate(values []string, has [numCodings]bool) coding {
	// Unlisted, identity is acceptable but least preferred.
	q := [numCodings]float64{identity: 0.001, codingGzip: -1, codingBrotli: -1}
	star := -1.0
	identitySet := false
	for _, v := range values {
		// Walked with Cut, not Split: this runs on every request.
		for rest := v; rest != ""; {
			var part string
			part, rest, _ = strings.Cut(rest, ",")
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			weight := qValue(params)
			name = strings.TrimSpace(name)
			switch {
			case strings.EqualFold(name, "br"):
				q[codingBrotli] = weight
			case strings.EqualFold(name, "gzip"), strings.EqualFold(name, "x-gzip"):
				q[codingGzip] = weight
			case strings.EqualFold(name, "identity"):
				q[identity], identitySet = weight, true
			case name == "*":
				star = weight
			}
		}
	}
	if star >= 0 {
		for c := range numCodings {
			if q[c] < 0 || (c == identity && !identitySet) {
				q[c] = star
			}
		}
	}
	best, bestQ := identity, 0.0
	for _, c := range []coding{codingBrotli, codingGzip, identity} {
		if has[c] && q[c] > bestQ {
			best, bestQ = c, q[c]
		}
	}
	return best
}

// qValue reads the q parameter of a coding; absent means 1, unreadable 0.
func qValue(params string) float64 {
	for rest := params; rest != ""; {
		var p string
		p, rest, _ = strings.Cut(rest, ";")
		p = strings.TrimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		v := p[2:]
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 {
			return 0
		}
		return min(q, 1)
	}
	return 1
}
