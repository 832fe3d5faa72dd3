// Package tags is the one home of page tags: what a tag may be, the tags an
// origin's response header carries, a StaticPageSet's tag templates filled
// in for one page, the identity tags the operator adds, and the set of tags
// a page carries, bounded so that every CDN's header and per-object limits
// hold it.
package tags

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// Limits of a page's tags. They are those of the API (spec.tags and
// status.tags declare the same numbers in their markers) and they keep a
// page's tags within every supported CDN's limits: 128 characters is
// Akamai's per-tag limit and at most MaxPage tags stays under its 128 tags
// per object; MaxPage tags of MaxLength characters stay under the 16 KB
// Cloudflare and Fastly allow for the whole header.
const (
	// MaxLength is the longest tag, in characters (all ASCII).
	MaxLength = 128
	// MaxDeclared is how many tags spec.tags may list.
	MaxDeclared = 32
	// MaxOrigin is how many tags of an origin's response are kept; more are
	// dropped and counted in status.droppedTags.
	MaxOrigin = 32
	// MaxPage is how many tags a page carries at most: its declared and
	// origin tags and its identity tags.
	MaxPage = MaxDeclared + MaxOrigin + 2
)

// ReservedPrefix starts the identity tags the operator adds. No declared or
// origin tag may start with it, in any case (Cloudflare and CloudFront
// compare tags without case), so that no page can carry another page's
// identity tag.
const ReservedPrefix = "isr_"

// Identity tag prefixes: PagePrefix + namespace + "_" + name names one
// StaticPage, SetPrefix + namespace + "_" + name every page of one
// StaticPageSet. A namespace holds no '_', so the two parts cannot be
// confused.
const (
	PagePrefix = ReservedPrefix + "page_"
	SetPrefix  = ReservedPrefix + "set_"
)

// DefaultOriginHeaders are the response headers origin tags are read from
// unless the manager's --origin-tag-header names others: Cloudflare's,
// Fastly's and the one many CMSs (Drupal, Craft) send.
var DefaultOriginHeaders = []string{"Cache-Tag", "Surrogate-Key", "X-Cache-Tags"}

// tagByte is true for the bytes a tag may hold: ASCII letters and digits
// and "-._~%". They are the characters every supported CDN accepts in a tag
// (Akamai's list is the narrowest: no ':', '@', '/', braces or spaces, see
// https://techdocs.akamai.com/purge-cache/docs/purge-content-cache-tag),
// none of them separates tags in any CDN's header (space, comma), and '%'
// lets a StaticPageSet's route parameter of any character be escaped into
// one.
func tagByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '%'
}

// Pattern is the regular expression a declared tag matches, as the CRD
// declares it.
const Pattern = `^[A-Za-z0-9._~%-]+$`

// Valid reports whether t may be a tag a user or an origin gives:
// Wellformed, not starting with ReservedPrefix.
func Valid(t string) bool {
	return Wellformed(t) && !Reserved(t)
}

// Wellformed reports whether t is 1 to MaxLength characters of the tag
// charset: any tag a page may carry, identity tags included.
func Wellformed(t string) bool {
	if t == "" || len(t) > MaxLength {
		return false
	}
	for i := range len(t) {
		if !tagByte(t[i]) {
			return false
		}
	}
	return true
}

// Reserved reports whether t starts with ReservedPrefix, in any case.
func Reserved(t string) bool {
	return len(t) >= len(ReservedPrefix) && strings.EqualFold(t[:len(ReservedPrefix)], ReservedPrefix)
}

// FromHeaders returns the tags in an origin's response header values, each
// a list separated by spaces and/or commas (Fastly's Surrogate-Key and
// Varnish's xkey use spaces, Cloudflare's Cache-Tag and Akamai's
// Edge-Cache-Tag commas): the valid ones, each once, in order, at most
// MaxOrigin of them, and how many were dropped (invalid, reserved, or
// beyond MaxOrigin).
func FromHeaders(values []string) (kept []string, dropped int) {
	seen := map[string]bool{}
	for _, v := range values {
		for t := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
			switch {
			case seen[t]:
			case !Valid(t) || len(kept) >= MaxOrigin:
				dropped++
			default:
				seen[t] = true
				kept = append(kept, t)
			}
		}
	}
	return kept, dropped
}

// PageTag is the identity tag of the StaticPage namespace/name.
func PageTag(namespace, name string) string { return identity(PagePrefix, namespace, name) }

// SetTag is the identity tag of the StaticPageSet namespace/name, carried
// by each of its pages.
func SetTag(namespace, name string) string { return identity(SetPrefix, namespace, name) }

// identity is prefix + namespace + "_" + name, within MaxLength: a longer
// one keeps as much of the name as fits before "~" and 16 hex digits of the
// SHA-256 of namespace/name, so that it stays unique and readable.
func identity(prefix, namespace, name string) string {
	t := prefix + namespace + "_" + name
	if len(t) <= MaxLength {
		return t
	}
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	suffix := "~" + hex.EncodeToString(sum[:8])
	return t[:MaxLength-len(suffix)] + suffix
}

// Page is what a page's tags are made of.
type Page struct {
	// Namespace and Name name the StaticPage.
	Namespace, Name string
	// Set names its StaticPageSet, "" for a page with its own origin.
	Set string
	// Declared are spec.tags, for a set's page with its set's templates
	// filled in (Expand).
	Declared []string
	// Origin are the tags its origin sent at the last render (FromHeaders).
	Origin []string
}

// All is every tag of p, at most MaxPage: its identity tags first (the
// page's, then its set's), then its declared and origin tags that are
// Valid, sorted and each once.
func (p Page) All() []string {
	out := make([]string, 0, 2+len(p.Declared)+len(p.Origin))
	for _, group := range [][]string{p.Declared, p.Origin} {
		for _, t := range group {
			if Valid(t) {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxPage-2 {
		out = out[:MaxPage-2]
	}
	ids := []string{PageTag(p.Namespace, p.Name)}
	if p.Set != "" {
		ids = append(ids, SetTag(p.Namespace, p.Set))
	}
	return append(ids, out...)
}
