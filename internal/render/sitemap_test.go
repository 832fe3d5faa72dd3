package render

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

const urlset = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc> https://shop.example/products/1 </loc><lastmod>2026-11-01</lastmod></url>
  <url><loc>https://shop.example/products/2?a=1&amp;b=2</loc></url>
  <url><loc></loc></url>
</urlset>`

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.Bytes()
}

func TestParseSitemap(t *testing.T) {
	tests := []struct {
		name          string
		body          []byte
		urls, indexed []string
		err           string
	}{
		{"urlset", []byte(urlset), []string{"https://shop.example/products/1", "https://shop.example/products/2?a=1&b=2"}, nil, ""},
		{"no namespace", []byte(`<urlset><url><loc>http://a/x</loc></url></urlset>`), []string{"http://a/x"}, nil, ""},
		{"index", []byte(`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>http://a/s1.xml</loc></sitemap></sitemapindex>`),
			nil, []string{"http://a/s1.xml"}, ""},
		{"gzip", gzipped(urlset), []string{"https://shop.example/products/1", "https://shop.example/products/2?a=1&b=2"}, nil, ""},
		{"gzip over the cap", gzipped(strings.Repeat(" ", 5000) + urlset), nil, nil, "over the 4096-byte cap"},
		{"not a sitemap", []byte(`<html><body>hi</body></html>`), nil, nil, "not <urlset> or <sitemapindex>"},
		{"not XML", []byte(`hello`), nil, nil, "XML"},
		{"custom entities are not expanded", []byte(`<!DOCTYPE u [<!ENTITY a "aaaa">]><urlset><url><loc>&a;</loc></url></urlset>`), nil, nil, "entity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			urls, indexed, err := ParseSitemap(tc.body, 4096)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one about %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(urls, tc.urls) || !slices.Equal(indexed, tc.indexed) {
				t.Fatalf("= %q, %q, %v; want %q, %q", urls, indexed, err, tc.urls, tc.indexed)
			}
		})
	}
}

func TestFetcherSitemap(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		switch r.URL.Path {
		case "/index.xml":
			_, _ = fmt.Fprintf(w, `<sitemapindex><sitemap><loc>%[1]s/a.xml</loc></sitemap><sitemap><loc>%[1]s/nested.xml</loc></sitemap><sitemap><loc>%[1]s/b.xml</loc></sitemap></sitemapindex>`, srv.URL)
		case "/a.xml":
			_, _ = w.Write([]byte(`<urlset><url><loc>http://s/1</loc></url><url><loc>http://s/2</loc></url></urlset>`))
		case "/b.xml":
			w.Header().Set("Content-Type", "application/gzip")
			_, _ = w.Write(gzipped(`<urlset><url><loc>http://s/3</loc></url></urlset>`))
		case "/nested.xml":
			_, _ = fmt.Fprintf(w, `<sitemapindex><sitemap><loc>%s/a.xml</loc></sitemap></sitemapindex>`, srv.URL)
		case "/broken-index.xml":
			_, _ = fmt.Fprintf(w, `<sitemapindex><sitemap><loc>%s/missing.xml</loc></sitemap></sitemapindex>`, srv.URL)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte(`<urlset></urlset>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	allowed, err := NewGuard([]string{"127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	types, err := ParseContentTypes(SitemapContentTypes)
	if err != nil {
		t.Fatal(err)
	}
	fetcher := func(g *Guard) *Fetcher {
		return &Fetcher{Client: NewClient(ClientOptions{Guard: g}), MaxBodyBytes: 1 << 20, ContentTypes: types}
	}
	ctx := context.Background()
	collect := func(f *Fetcher, url string, most int) ([]string, error) {
		var got []string
		err := f.Sitemap(ctx, url, 5*time.Second, func(loc string) bool {
			got = append(got, loc)
			return len(got) < most
		})
		return got, err
	}

	got, err := collect(fetcher(allowed), srv.URL+"/index.xml", 100)
	if want := []string{"http://s/1", "http://s/2", "http://s/3"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("index, one level deep (nested index skipped) = %q, %v; want %q", got, err, want)
	}
	got, err = collect(fetcher(allowed), srv.URL+"/index.xml", 2)
	if want := []string{"http://s/1", "http://s/2"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("stopped by visit = %q, %v; want %q", got, err, want)
	}
	if _, err := collect(fetcher(allowed), srv.URL+"/broken-index.xml", 100); err == nil || !strings.Contains(err.Error(), "missing.xml") {
		t.Errorf("a failing sitemap of an index: err = %v, want one naming it", err)
	}
	if _, err := collect(fetcher(allowed), srv.URL+"/html", 100); err == nil || !strings.Contains(err.Error(), "content type") {
		t.Errorf("an HTML answer: err = %v, want a content type refusal", err)
	}
	// Without --allow-origin the guard refuses the loopback address, as it
	// refuses it for pages.
	_, err = collect(fetcher(nil), srv.URL+"/a.xml", 100)
	if _, ok := errors.AsType[*RefusedError](err); !ok {
		t.Errorf("a loopback sitemap without --allow-origin: err = %v, want a *RefusedError", err)
	}
}
