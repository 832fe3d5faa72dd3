package server

import (
	"bytes"
	"io"
	"math/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/render"
	"github.com/isr-operator/isr-operator/internal/storage"
)

// TestCompressBrotliRoundTrip checks bodies on both sides of the small
// window.
func TestCompressBrotliRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	noise := make([]byte, 200<<10)
	rnd.Read(noise)
	html := strings.Repeat("<p>Incremental static regeneration.</p>\n", 5000)
	for _, body := range [][]byte{
		[]byte(html[:20<<10]),
		[]byte(html[:1<<16-16]),
		[]byte(html[:1<<16-15]),
		[]byte(html),
		append([]byte(html[:30<<10]), noise[:30<<10]...),
	} {
		br := compressBrotli(body, len(body))
		if br == nil {
			t.Fatalf("%d bytes: no brotli copy", len(body))
		}
		if cap(br) != len(br) {
			t.Errorf("%d bytes: brotli copy holds %d spare bytes", len(body), cap(br)-len(br))
		}
		got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br)))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%d bytes: round trip failed: %v", len(body), err)
		}
	}
}

// TestNoCodingLargerThanTheBody serves a page that gzip and brotli make
// larger, loaded as a ConfigMap keeps it (gzip only) and as an object store
// keeps it (every coding worth keeping): a client accepting both gets the
// identity body, as it would from a store that never held the gzip copy.
func TestNoCodingLargerThanTheBody(t *testing.T) {
	const tiny = "<p>hi</p>\n"
	p, cmObj := testPage("tiny", "", "/", tiny, time.Minute, pagesv1alpha1.RevalidateInterval)
	if len(cmObj.Gzip) < len(tiny) {
		t.Fatalf("the test page must not shrink under gzip: %d bytes gzipped, %d plain", len(cmObj.Gzip), len(tiny))
	}
	s3Obj, err := storage.Encode(&render.Page{Body: []byte(tiny), ContentType: "text/html; charset=utf-8", Digest: digest.Of([]byte(tiny))})
	if err != nil {
		t.Fatal(err)
	}
	for name, obj := range map[string]*storage.Object{"gzip only": cmObj, "encoded at render": s3Obj} {
		t.Run(name, func(t *testing.T) {
			table := NewTable()
			table.Put(mustEntry(t, p, obj))
			forEachServer(t, func(t *testing.T, serve func(*Handler) http.Handler) {
				h, _, _ := handlerFor(table)
				for _, ae := range []string{"gzip", "br", "gzip, deflate, br", "br;q=1, gzip;q=0.5"} {
					rec := do(serve(h), "GET", "http://x/", "Accept-Encoding", ae)
					if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != tiny {
						t.Fatalf("Accept-Encoding %q: %d, encoding %q, body %q", ae, rec.Code, rec.Header().Get("Content-Encoding"), rec.Body.String())
					}
					if etag := rec.Header().Get("Etag"); etag != `"`+digest.Hex(p.Status.Digest)+`"` {
						t.Errorf("Accept-Encoding %q: ETag %s is not the identity one", ae, etag)
					}
				}
			})
		})
	}
}
