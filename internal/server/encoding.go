package server

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
)

// coding is a content coding the server keeps a page in.
type coding int

const (
	identity coding = iota
	codingGzip
	codingBrotli
	numCodings
)

// brotliQuality trades compression time, paid once per new content per
// server, for bytes saved on every response.
const brotliQuality = 9

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

// smallBrotliWindow is the LGWin of every body up to 64 KiB. Brotli picks
// its match finder by window: up to 16 a hasher of 1.3 MiB, above 16 (at
// quality 9) one of 32 MiB whatever the input size, which made loading a
// 20 KiB page allocate 32 MiB. 16 also has the shortest stream header.
const smallBrotliWindow = 16

// brotliWindow is the LGWin for a body of n bytes: smallBrotliWindow when
// the body fits in it, else the smallest window holding the whole body, but
// at least 18 (the default 22's header length) and at most 24 (brotli's
// largest).
func brotliWindow(n int) int {
	if n <= windowBytes(smallBrotliWindow) {
		return smallBrotliWindow
	}
	w := 18
	for w < 24 && windowBytes(w) < n {
		w++
	}
	return w
}

// windowBytes is how far back a brotli window of lgwin reaches.
func windowBytes(lgwin int) int { return 1<<lgwin - 16 }

// compressBrotli returns body in brotli, or nil when that is no smaller
// than gzip, so it is never worth sending.
func compressBrotli(body []byte, gzipLen int) []byte {
	var buf bytes.Buffer
	buf.Grow(gzipLen)
	// A new writer each time, not a pooled one: a pooled writer would keep
	// its 1.3 MiB hasher live between renders, and a server of a few pages
	// would carry twice that in heap headroom.
	w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: brotliQuality, LGWin: brotliWindow(len(body))})
	_, err := w.Write(body)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil || buf.Len() >= gzipLen {
		return nil
	}
	return exact(buf.Bytes())
}

// exact returns b with no spare capacity, copying it when it has more than
// a little: a page is held for as long as it is served, and growing
// buffers leave up to half of their memory unused.
func exact(b []byte) []byte {
	if cap(b)-len(b) <= len(b)/64 {
		return b[:len(b):len(b)]
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
