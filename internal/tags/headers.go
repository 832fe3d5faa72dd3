package tags

import (
	"fmt"
	"strings"
)

// Header is how one CDN reads a response's tags: the header's name, what
// separates tags in it, and the CDN's documented limits. Only tags that
// fit are sent, in the order given (a page's identity tags first), so the
// tags that name the page are always among them.
type Header struct {
	// Name is the header field's name, in Go's canonical form
	// (http.CanonicalHeaderKey), as the server's header maps hold names.
	Name string
	// Separator goes between two tags.
	Separator string
	// MaxBytes bounds the header's value, in bytes; 0 means no bound.
	MaxBytes int
	// MaxTags bounds how many tags the CDN reads; 0 means no bound.
	MaxTags int
	// MaxTagBytes bounds one tag; 0 means no bound beyond MaxLength.
	MaxTagBytes int
}

// Headers are the tag headers --cdn-tag-headers may name, by the name the
// flag takes, each in its CDN's syntax and within its limits:
//
//   - xkey, Varnish's xkey module: tags separated by spaces ("Multiple keys
//     can be specified per header line with spaces and/or commas as
//     separators", vmod_xkey(3)); a backend response header, name
//     included, is at most varnishd's http_resp_hdr_len, 8k by default
//     (varnishd -x parameter).
//   - Surrogate-Key, Fastly: "space-separated purge keys", a key at most
//     1024 bytes and the header at most 16,384 bytes
//     (https://www.fastly.com/documentation/reference/http/http-headers/Surrogate-Key).
//   - Cache-Tag, Cloudflare: tags separated by commas, the value at most
//     16 KB after the header field name
//     (https://developers.cloudflare.com/cache/how-to/purge-cache/purge-by-tags/).
//   - Edge-Cache-Tag, Akamai: "a single header with up to 128
//     comma-delimited values", each at most 128 characters
//     (https://techdocs.akamai.com/purge-cache/docs/assign-cache-tags).
//   - CDN-Tag, Bunny: tags separated by commas, the value at most 1024
//     bytes (https://docs.bunny.net/cdn/purge-cache).
var Headers = map[string]Header{
	"xkey":           {Name: "Xkey", Separator: " ", MaxBytes: 8192 - len("xkey: ")},
	"Surrogate-Key":  {Name: "Surrogate-Key", Separator: " ", MaxBytes: 16384, MaxTagBytes: 1024},
	"Cache-Tag":      {Name: "Cache-Tag", Separator: ",", MaxBytes: 16 << 10},
	"Edge-Cache-Tag": {Name: "Edge-Cache-Tag", Separator: ",", MaxTags: 128, MaxTagBytes: 128},
	"CDN-Tag":        {Name: "Cdn-Tag", Separator: ",", MaxBytes: 1024},
}

// HeaderNames lists the names --cdn-tag-headers takes, for messages.
const HeaderNames = "xkey, Surrogate-Key, Cache-Tag, Edge-Cache-Tag, CDN-Tag"

// LookupHeader returns the Header name names, in any case.
func LookupHeader(name string) (Header, error) {
	for k, h := range Headers {
		if strings.EqualFold(k, name) {
			return h, nil
		}
	}
	return Header{}, fmt.Errorf("%q is not a CDN tag header; use %s", name, HeaderNames)
}

// Value is the header's value for tags: as many of them as fit, in order,
// joined by the separator; a tag that does not fit is skipped and a later
// shorter one may still be sent. dropped counts the tags left out.
func (h Header) Value(tags []string) (value string, dropped int) {
	var b strings.Builder
	n := 0
	for _, t := range tags {
		size := len(t)
		if n > 0 {
			size += len(h.Separator)
		}
		if (h.MaxTagBytes > 0 && len(t) > h.MaxTagBytes) || (h.MaxTags > 0 && n >= h.MaxTags) ||
			(h.MaxBytes > 0 && b.Len()+size > h.MaxBytes) {
			dropped++
			continue
		}
		if n > 0 {
			b.WriteString(h.Separator)
		}
		b.WriteString(t)
		n++
	}
	return b.String(), dropped
}
