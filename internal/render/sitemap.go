package render

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SitemapContentTypes are the media types a sitemap may be served with: XML,
// or gzip for a compressed sitemap (sitemap.xml.gz).
var SitemapContentTypes = []string{"application/xml", "text/xml", "application/gzip", "application/x-gzip"}

// MaxIndexedSitemaps is how many sitemaps of a sitemap index are read: each
// is a fetch of up to the body cap, and all of them share one time budget
// with the index (the caller's context).
const MaxIndexedSitemaps = 50

// sitemapDoc is a <urlset> or a <sitemapindex>; encoding/xml ignores the
// namespace when the tags name none, so both sitemaps.org namespaces and
// none at all are read.
type sitemapDoc struct {
	XMLName  xml.Name
	URLs     []sitemapLoc `xml:"url"`
	Sitemaps []sitemapLoc `xml:"sitemap"`
}

type sitemapLoc struct {
	Loc string `xml:"loc"`
}

// ParseSitemap reads a sitemap (<urlset>) or a sitemap index
// (<sitemapindex>): it returns the page URLs of the one, or the sitemap URLs
// of the other, in document order and trimmed of the whitespace XML allows
// around them. A gzip-compressed body is decompressed within maxBytes
// (0 means no cap). Go's XML decoder expands no external or custom entity,
// so a sitemap cannot grow past the body it came in.
func ParseSitemap(body []byte, maxBytes int64) (urls, sitemaps []string, err error) {
	if len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, nil, fmt.Errorf("reading a gzip sitemap: %w", err)
		}
		if body, err = readCapped(zr, maxBytes); err != nil {
			if errors.Is(err, errTooLarge) {
				return nil, nil, fmt.Errorf("the decompressed sitemap is over the %d-byte cap (--max-body-size)", maxBytes)
			}
			return nil, nil, fmt.Errorf("reading a gzip sitemap: %w", err)
		}
	}
	var doc sitemapDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("reading the sitemap as XML: %w", err)
	}
	switch doc.XMLName.Local {
	case "urlset":
		return locs(doc.URLs), nil, nil
	case "sitemapindex":
		return nil, locs(doc.Sitemaps), nil
	}
	return nil, nil, fmt.Errorf("the sitemap's root element is <%s>, not <urlset> or <sitemapindex>", doc.XMLName.Local)
}

func locs(entries []sitemapLoc) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if loc := strings.TrimSpace(e.Loc); loc != "" {
			out = append(out, loc)
		}
	}
	return out
}

// Sitemap fetches the sitemap at url through f, as a page is fetched (the
// origin guard, the redirect and body caps, the allowed content types, and
// timeout for each fetch), and calls visit with each page URL it lists, in
// order, until visit returns false. A sitemap index is followed one level
// deep, its first MaxIndexedSitemaps sitemaps only; an index listed in an
// index is skipped. Any failure is returned: the caller must not take the
// URLs visited so far for the whole sitemap.
func (f *Fetcher) Sitemap(ctx context.Context, url string, timeout time.Duration, visit func(loc string) bool) error {
	urls, index, err := f.sitemap(ctx, url, timeout)
	if err != nil {
		return err
	}
	for _, u := range urls {
		if !visit(u) {
			return nil
		}
	}
	if len(index) > MaxIndexedSitemaps {
		index = index[:MaxIndexedSitemaps]
	}
	for _, child := range index {
		urls, _, err := f.sitemap(ctx, child, timeout)
		if err != nil {
			return fmt.Errorf("sitemap %s of index %s: %w", child, url, err)
		}
		for _, u := range urls {
			if !visit(u) {
				return nil
			}
		}
	}
	return nil
}

// sitemap fetches and parses one sitemap document.
func (f *Fetcher) sitemap(ctx context.Context, url string, timeout time.Duration) (urls, index []string, err error) {
	page, err := f.Fetch(ctx, url, timeout)
	if err != nil {
		return nil, nil, fmt.Errorf("fetching sitemap: %w", err)
	}
	urls, index, err = ParseSitemap(page.Body, f.MaxBodyBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("sitemap %s: %w", url, err)
	}
	return urls, index, nil
}
