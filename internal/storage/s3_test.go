package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/minio/minio-go/v7"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/render"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/storage/s3test"
)

const prefix = "site-a"

// requestTimeout is the S3 backend's per-request bound in these tests.
const requestTimeout = 2 * time.Second

var staticPage = &pagesv1alpha1.StaticPage{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "product-42"}}

func options(srv *s3test.Server) storage.S3Options {
	o := storage.DefaultS3Options()
	o.Endpoint = srv.Endpoint
	o.Bucket = srv.Bucket
	o.Prefix = prefix
	o.Region = srv.Region
	o.PathStyle = true
	o.AllowHTTP = true
	o.Timeout = requestTimeout
	return o
}

// newS3 starts a versitygw and returns a backend of its bucket, with the
// server's credentials in the environment, where the standard chain finds
// them.
func newS3(t *testing.T) (*storage.S3, *s3test.Server) {
	t.Helper()
	srv := s3test.Run(t)
	srv.SetEnv(t)
	s3, err := storage.NewS3(context.Background(), options(srv))
	if err != nil {
		t.Fatal(err)
	}
	return s3, srv
}

func newPage(body string) *render.Page {
	return &render.Page{Body: []byte(body), ContentType: "text/html; charset=utf-8", Digest: digest.Of([]byte(body))}
}

func htmlPage(n int) *render.Page {
	return newPage(strings.Repeat("<li>product "+string(rune('a'+n%26))+" in stock</li>\n", 300))
}

func key(d, name string) string {
	return prefix + "/pages/sha256/" + digest.Hex(d) + "/" + name
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustPut(t *testing.T, s3 *storage.S3, p *render.Page) bool {
	t.Helper()
	stored, err := s3.Put(ctxT(t), staticPage, p)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return stored.Changed
}

func mustGet(t *testing.T, s3 *storage.S3, p *render.Page) *storage.Object {
	t.Helper()
	o, err := s3.Get(ctxT(t), staticPage, p.Digest)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !bytes.Equal(o.Identity, p.Body) {
		t.Fatalf("Get returned a different body")
	}
	return o
}

func TestS3RoundTrip(t *testing.T) {
	s3, srv := newS3(t)
	random := make([]byte, 4096)
	_, _ = rand.Read(random)
	for _, tt := range []struct {
		name    string
		page    *render.Page
		codings []string
	}{
		{"html: every coding", htmlPage(0), []string{"br", "gzip", "identity"}},
		{"tiny: identity only", newPage("ok"), []string{"identity"}},
		{"incompressible: identity only", newPage(string(random)), []string{"identity"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			if !mustPut(t, s3, tt.page) {
				t.Fatalf("first Put reported changed=false")
			}
			o := mustGet(t, s3, tt.page)
			if o.Digest != tt.page.Digest || o.ContentType != tt.page.ContentType || o.StoredAt.Before(before) || o.StoredAt.After(time.Now()) {
				t.Errorf("metadata = %s %q %v", o.Digest, o.ContentType, o.StoredAt)
			}
			var got []string
			for name, rep := range map[string][]byte{"identity": o.Identity, "gzip": o.Gzip, "br": o.Brotli} {
				if rep != nil {
					got = append(got, name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.codings) {
				t.Fatalf("codings = %v, want %v", got, tt.codings)
			}
			if o.Gzip != nil {
				if body, err := storage.Decompress(o.Gzip, 0); err != nil || !bytes.Equal(body, tt.page.Body) {
					t.Errorf("gzip does not decode to the body: %v", err)
				}
			}
			if o.Brotli != nil {
				if body, err := io.ReadAll(brotli.NewReader(bytes.NewReader(o.Brotli))); err != nil || !bytes.Equal(body, tt.page.Body) {
					t.Errorf("brotli does not decode to the body: %v", err)
				}
			}

			// The layout is a contract with whoever lists the bucket.
			raw := readObject(t, srv, key(tt.page.Digest, "meta.json"))
			var m struct {
				Digest          string           `json:"digest"`
				ContentType     string           `json:"contentType"`
				StoredAt        time.Time        `json:"storedAt"`
				Representations map[string]int64 `json:"representations"`
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("meta.json: %v", err)
			}
			if m.Digest != tt.page.Digest || m.ContentType != tt.page.ContentType || !m.StoredAt.Equal(o.StoredAt) || len(m.Representations) != len(tt.codings) {
				t.Errorf("meta.json = %s", raw)
			}
			for _, c := range tt.codings {
				if int64(len(readObject(t, srv, key(tt.page.Digest, c)))) != m.Representations[c] {
					t.Errorf("%s is not the size meta.json says", c)
				}
			}
		})
	}
}

func readObject(t *testing.T, srv *s3test.Server, k string) []byte {
	t.Helper()
	obj, err := srv.Client().GetObject(ctxT(t), srv.Bucket, k, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = obj.Close() }()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("reading %s: %v", k, err)
	}
	return b
}

func lastModified(t *testing.T, srv *s3test.Server, k string) time.Time {
	t.Helper()
	info, err := srv.Client().StatObject(ctxT(t), srv.Bucket, k, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("stat %s: %v", k, err)
	}
	return info.LastModified
}

func removeObject(t *testing.T, srv *s3test.Server, k string) {
	t.Helper()
	if err := srv.Client().RemoveObject(ctxT(t), srv.Bucket, k, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestS3ContentAddressed: the same body is written once, whichever page
// stores it, and keeps its first StoredAt.
func TestS3ContentAddressed(t *testing.T) {
	s3, srv := newS3(t)
	p := htmlPage(1)
	if !mustPut(t, s3, p) {
		t.Fatal("first Put reported changed=false")
	}
	first := mustGet(t, s3, p)
	written := map[string]time.Time{}
	for _, name := range []string{"meta.json", "identity", "gzip", "br"} {
		written[name] = lastModified(t, srv, key(p.Digest, name))
	}

	time.Sleep(1100 * time.Millisecond) // past the store's timestamp resolution
	other := &pagesv1alpha1.StaticPage{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "product-43"}}
	for _, sp := range []*pagesv1alpha1.StaticPage{staticPage, other} {
		stored, err := s3.Put(ctxT(t), sp, newPage(string(p.Body)))
		if err != nil || stored.Changed {
			t.Fatalf("Put of a stored digest = %+v, %v; want changed=false", stored, err)
		}
		// The bytes of a stored digest are those its manifest lists.
		if want := int64(len(first.Identity) + len(first.Gzip) + len(first.Brotli)); stored.Bytes != want {
			t.Errorf("Put of a stored digest reports %d bytes, want %d", stored.Bytes, want)
		}
	}
	for name, at := range written {
		if got := lastModified(t, srv, key(p.Digest, name)); !got.Equal(at) {
			t.Errorf("%s was written again (%v, first %v)", name, got, at)
		}
	}
	if again := mustGet(t, s3, p); !again.StoredAt.Equal(first.StoredAt) {
		t.Errorf("StoredAt moved from %v to %v", first.StoredAt, again.StoredAt)
	}
	stored, err := s3.List(ctxT(t))
	if err != nil || len(stored) != 1 {
		t.Fatalf("List = %v, %v; want one digest", stored, err)
	}
}

// TestS3RepairsRemovedObjects: a representation removed behind the
// backend's back makes the digest not stored, and the next Put writes it
// again.
func TestS3RepairsRemovedObjects(t *testing.T) {
	s3, srv := newS3(t)
	p := htmlPage(2)
	mustPut(t, s3, p)
	first := mustGet(t, s3, p)
	removeObject(t, srv, key(p.Digest, "gzip"))

	if _, err := s3.Get(ctxT(t), staticPage, p.Digest); !errors.Is(err, storage.ErrNotStored) {
		t.Fatalf("Get with gzip removed = %v, want ErrNotStored", err)
	}
	if has, err := s3.Has(ctxT(t), staticPage, p.Digest); has || err != nil {
		t.Fatalf("Has with gzip removed = %v, %v; want false", has, err)
	}
	if !mustPut(t, s3, p) {
		t.Fatal("Put after a removal reported changed=false")
	}
	if has, err := s3.Has(ctxT(t), staticPage, p.Digest); !has || err != nil {
		t.Fatalf("Has after the repair = %v, %v; want true", has, err)
	}
	if again := mustGet(t, s3, p); !again.StoredAt.Equal(first.StoredAt) || again.Gzip == nil {
		t.Errorf("repaired page: StoredAt %v (first %v), gzip %d bytes", again.StoredAt, first.StoredAt, len(again.Gzip))
	}
}

// TestS3PublishIsAtomic: representations without their manifest are not a
// page, so a Put that stopped before the manifest publishes nothing, and a
// Delete that removed the manifest unpublishes at once.
func TestS3PublishIsAtomic(t *testing.T) {
	s3, srv := newS3(t)
	p := htmlPage(3)
	mustPut(t, s3, p)
	removeObject(t, srv, key(p.Digest, "meta.json"))

	for _, name := range []string{"identity", "gzip", "br"} {
		if len(readObject(t, srv, key(p.Digest, name))) == 0 {
			t.Fatalf("%s missing", name)
		}
	}
	_, err := s3.Get(ctxT(t), staticPage, p.Digest)
	if !errors.Is(err, storage.ErrNotStored) || errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Get without manifest = %v, want ErrNotStored", err)
	}
	if has, err := s3.Has(ctxT(t), staticPage, p.Digest); has || err != nil {
		t.Fatalf("Has without manifest = %v, %v; want false", has, err)
	}
	stored, err := s3.List(ctxT(t))
	if err != nil || len(stored) != 1 || stored[0].Published {
		t.Fatalf("List = %+v, %v; want one unpublished digest", stored, err)
	}

	// Put completes it: the manifest, written last, publishes it.
	if !mustPut(t, s3, p) {
		t.Fatal("Put of an unpublished digest reported changed=false")
	}
	mustGet(t, s3, p)

	if err := s3.Delete(ctxT(t), p.Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Get(ctxT(t), staticPage, p.Digest); !errors.Is(err, storage.ErrNotStored) {
		t.Fatalf("Get after Delete = %v, want ErrNotStored", err)
	}
	if stored, err := s3.List(ctxT(t)); err != nil || len(stored) != 0 {
		t.Fatalf("List after Delete = %+v, %v; want nothing", stored, err)
	}
	if err := s3.Delete(ctxT(t), p.Digest); err != nil {
		t.Fatalf("Delete of nothing = %v", err)
	}
}

// TestS3PutWithARefusedBodyPublishesNothing: when the store refuses the
// write of one representation of a new page, Put fails and publishes
// nothing: no manifest is written for the new digest, and the page stored
// before is still what a read returns.
func TestS3PutWithARefusedBodyPublishesNothing(t *testing.T) {
	root, srv := newS3(t)
	for i, coding := range []string{"identity", "gzip", "br"} {
		t.Run(coding, func(t *testing.T) {
			old, next := htmlPage(40+2*i), htmlPage(41+2*i)
			mustPut(t, root, old)

			access, secret := "isr-writer-"+coding, "writer-secret-0123456789"
			if err := srv.AddWriter(ctxT(t), access, secret, prefix, key(next.Digest, coding)); err != nil {
				t.Fatal(err)
			}
			t.Setenv("AWS_ACCESS_KEY_ID", access)
			t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
			writer, err := storage.NewS3(ctxT(t), options(srv))
			if err != nil {
				t.Fatal(err)
			}
			put, err := writer.Put(ctxT(t), staticPage, next)
			if !errors.Is(err, storage.ErrDenied) || put.Changed {
				t.Errorf("Put with the %s write refused = %+v, %v; want ErrDenied", coding, put, err)
			}

			_, err = srv.Client().StatObject(ctxT(t), srv.Bucket, key(next.Digest, "meta.json"), minio.StatObjectOptions{})
			if minio.ToErrorResponse(err).Code != "NoSuchKey" {
				t.Errorf("manifest of the refused page: stat = %v, want NoSuchKey", err)
			}
			if _, err := writer.Get(ctxT(t), staticPage, next.Digest); !errors.Is(err, storage.ErrNotStored) {
				t.Errorf("Get of the refused page = %v, want ErrNotStored", err)
			}
			mustGet(t, writer, old)
			mustGet(t, root, old)

			// The other representations may be there, unpublished.
			stored, err := root.List(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range stored {
				if d.Digest == next.Digest && d.Published {
					t.Errorf("List says the refused page is published")
				}
			}
		})
	}
}

// TestS3GetReadsWhatTheManifestSays: a loaded body takes the memory its
// manifest gives and no more (the server's --cache-size counts lengths), and
// a representation longer or shorter than its manifest says is not the page.
func TestS3GetReadsWhatTheManifestSays(t *testing.T) {
	s3, srv := newS3(t)
	p := htmlPage(5)
	mustPut(t, s3, p)
	got := mustGet(t, s3, p)
	for name, b := range map[string][]byte{"identity": got.Identity, "gzip": got.Gzip, "br": got.Brotli} {
		if b == nil || cap(b) != len(b) {
			t.Errorf("%s: %d bytes in a buffer of %d", name, len(b), cap(b))
		}
	}
	for name, body := range map[string][]byte{"longer": append(append([]byte{}, got.Gzip...), 0), "shorter": got.Gzip[:len(got.Gzip)-1]} {
		if _, err := srv.Client().PutObject(ctxT(t), srv.Bucket, key(p.Digest, "gzip"), bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s3.Get(ctxT(t), staticPage, p.Digest); !errors.Is(err, storage.ErrNotStored) {
			t.Errorf("Get with a %s gzip object = %v, want ErrNotStored", name, err)
		}
	}
}

func TestS3GetRefusesWhatIsNotThePage(t *testing.T) {
	s3, srv := newS3(t)
	p := htmlPage(4)
	mustPut(t, s3, p)
	// Someone overwrites the body with other bytes of the same size.
	body := bytes.ToUpper(p.Body)
	if _, err := srv.Client().PutObject(ctxT(t), srv.Bucket, key(p.Digest, "identity"), bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Get(ctxT(t), staticPage, p.Digest); !errors.Is(err, storage.ErrNotStored) || !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), "does not hash") {
		t.Fatalf("Get of a tampered body = %v, want ErrCorrupt and ErrNotStored", err)
	}
	for _, bad := range []string{"", "sha256:abc", "md5:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("A", 64), "sha256:../../" + strings.Repeat("a", 58)} {
		if _, err := s3.Get(ctxT(t), staticPage, bad); !errors.Is(err, storage.ErrNotStored) {
			t.Errorf("Get(%q) = %v, want ErrNotStored", bad, err)
		}
	}
	limited := options(srv)
	limited.MaxBodyBytes = int64(len(p.Body)) - 1
	small, err := storage.NewS3(ctxT(t), limited)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Get(ctxT(t), staticPage, p.Digest); !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("Get over MaxBodyBytes = %v, want ErrTooLarge", err)
	}
}

func TestS3Sweep(t *testing.T) {
	s3, srv := newS3(t)
	kept, garbage, young := htmlPage(5), htmlPage(6), htmlPage(7)
	mustPut(t, s3, kept)
	mustPut(t, s3, garbage)
	// A Put that never published: representations only.
	unpublished := htmlPage(8)
	mustPut(t, s3, unpublished)
	removeObject(t, srv, key(unpublished.Digest, "meta.json"))

	time.Sleep(2100 * time.Millisecond)
	mustPut(t, s3, young)

	keep := func(d string) bool { return d == kept.Digest }
	deleted, err := s3.Sweep(ctxT(t), keep, time.Hour)
	if err != nil || len(deleted) != 0 {
		t.Fatalf("Sweep with a 1h grace = %v, %v; want nothing deleted", deleted, err)
	}

	var asked []string
	deleted, err = s3.Sweep(ctxT(t), func(d string) bool { asked = append(asked, d); return keep(d) }, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(deleted)
	want := []string{garbage.Digest, unpublished.Digest}
	slices.Sort(want)
	if !slices.Equal(deleted, want) {
		t.Errorf("Sweep deleted %v, want %v", deleted, want)
	}
	if slices.Contains(asked, young.Digest) {
		t.Errorf("Sweep asked keep about a digest younger than the grace")
	}
	mustGet(t, s3, kept)
	mustGet(t, s3, young)
	for _, p := range []*render.Page{garbage, unpublished} {
		if _, err := s3.Get(ctxT(t), staticPage, p.Digest); !errors.Is(err, storage.ErrNotStored) {
			t.Errorf("swept digest: Get = %v, want ErrNotStored", err)
		}
	}
	stored, err := s3.List(ctxT(t))
	if err != nil || len(stored) != 2 {
		t.Fatalf("List after Sweep = %+v, %v; want two digests", stored, err)
	}
}

func TestS3ListPages(t *testing.T) {
	defer storage.SetListPage(3)()
	s3, srv := newS3(t)
	var want []string
	for i := range 4 {
		p := htmlPage(10 + i)
		mustPut(t, s3, p)
		want = append(want, p.Digest)
	}
	// Objects that are not pages are not listed.
	if _, err := srv.Client().PutObject(ctxT(t), srv.Bucket, prefix+"/pages/sha256/notes.txt", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	stored, err := s3.List(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range stored {
		if !d.Published || d.Size == 0 || d.LastModified.IsZero() {
			t.Errorf("listed %+v", d)
		}
		got = append(got, d.Digest)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
}

// TestS3StoreStopped: while the store is down, reads and writes fail fast
// with ErrUnavailable; once it is back, what was stored is still there and
// writes work again.
func TestS3StoreStopped(t *testing.T) {
	s3, srv := newS3(t)
	stored, pending := htmlPage(20), htmlPage(21)
	mustPut(t, s3, stored)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	_, err := s3.Get(ctxT(t), staticPage, stored.Digest)
	assertUnavailable(t, "Get", err, "unreachable")
	_, err = s3.Put(ctxT(t), staticPage, pending)
	assertUnavailable(t, "Put", err, "unreachable")
	_, err = s3.Has(ctxT(t), staticPage, stored.Digest)
	assertUnavailable(t, "Has", err, "unreachable")
	assertUnavailable(t, "Check", s3.Check(ctxT(t)), "unreachable")

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s3, stored)
	if !mustPut(t, s3, pending) {
		t.Fatal("Put after the restart reported changed=false")
	}
	mustGet(t, s3, pending)
	if err := s3.Check(ctxT(t)); err != nil {
		t.Fatalf("Check after the restart: %v", err)
	}
}

// TestS3StoreStoppedMidPublish: a store that stops after the
// representations, before the manifest, fails the Put and publishes
// nothing; the next Put publishes.
func TestS3StoreStoppedMidPublish(t *testing.T) {
	s3, srv := newS3(t)
	p := htmlPage(24)
	storage.SetBeforeManifest(s3, func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	if _, err := s3.Put(ctxT(t), staticPage, p); !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "meta.json") {
		t.Fatalf("Put with the store stopped before the manifest = %v, want ErrUnavailable writing meta.json", err)
	}
	storage.SetBeforeManifest(s3, nil)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Get(ctxT(t), staticPage, p.Digest); !errors.Is(err, storage.ErrNotStored) {
		t.Fatalf("Get of a half-published digest = %v, want ErrNotStored", err)
	}
	if stored, err := s3.List(ctxT(t)); err != nil || len(stored) != 1 || stored[0].Published {
		t.Fatalf("List = %+v, %v; want one unpublished digest", stored, err)
	}
	if !mustPut(t, s3, p) {
		t.Fatal("Put after the restart reported changed=false")
	}
	mustGet(t, s3, p)
}

// TestS3StoreHangs: a store that accepts connections and never answers
// fails each request by the backend's own timeout, not the caller's
// patience: the caller here waits far longer (ctxT), and what ends the
// request is ErrUnavailable, not the caller's deadline.
func TestS3StoreHangs(t *testing.T) {
	s3, srv := newS3(t)
	p := htmlPage(22)
	mustPut(t, s3, p)
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	_, err := s3.Get(ctxT(t), staticPage, p.Digest)
	assertUnavailable(t, "Get", err, "no answer")
	_, err = s3.Put(ctxT(t), staticPage, htmlPage(23))
	assertUnavailable(t, "Put", err, "no answer")

	// A caller that gives up first gets its own error, not ErrUnavailable.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := s3.Get(ctx, staticPage, p.Digest); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Get with the caller's deadline = %v, want context.DeadlineExceeded", err)
	}

	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s3, p)
}

// assertUnavailable checks that op failed as with the store down, with
// the backend's own error (not the caller's context's) saying says.
func assertUnavailable(t *testing.T, op string, err error, says string) {
	t.Helper()
	if !errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrNotStored) {
		t.Fatalf("%s with the store down = %v, want ErrUnavailable", op, err)
	}
	if !strings.Contains(err.Error(), says) {
		t.Errorf("%s error %q does not say %q", op, err, says)
	}
}

func TestS3WrongCredentials(t *testing.T) {
	srv := s3test.Run(t)
	p := htmlPage(30)
	for _, tt := range []struct {
		name, access, secret string
	}{
		{"wrong secret", srv.AccessKey, "not-" + srv.SecretKey},
		{"unknown access key", "AKIAUNKNOWN", srv.SecretKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", tt.access)
			t.Setenv("AWS_SECRET_ACCESS_KEY", tt.secret)
			s3, err := storage.NewS3(ctxT(t), options(srv))
			if err != nil {
				t.Fatal(err)
			}
			_, putErr := s3.Put(ctxT(t), staticPage, p)
			_, getErr := s3.Get(ctxT(t), staticPage, p.Digest)
			for op, err := range map[string]error{"Put": putErr, "Get": getErr, "Check": s3.Check(ctxT(t))} {
				if !errors.Is(err, storage.ErrDenied) || !errors.Is(err, storage.ErrUnavailable) {
					t.Errorf("%s with %s = %v, want ErrDenied", op, tt.name, err)
					continue
				}
				if !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
					t.Errorf("%s error does not say where credentials come from: %v", op, err)
				}
			}
			t.Logf("%v", getErr)
		})
	}
}

// TestS3SharedCredentialsFile: without credentials in the environment, the
// chain finds them in the shared credentials file.
func TestS3SharedCredentialsFile(t *testing.T) {
	srv := s3test.Run(t)
	file := filepath.Join(t.TempDir(), "credentials")
	ini := "[default]\naws_access_key_id = " + srv.AccessKey + "\naws_secret_access_key = " + srv.SecretKey + "\n"
	if err := os.WriteFile(file, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
	s3, err := storage.NewS3(ctxT(t), options(srv))
	if err != nil {
		t.Fatal(err)
	}
	p := htmlPage(33)
	mustPut(t, s3, p)
	mustGet(t, s3, p)
}

// TestS3ReadOnlyCredentials: with the server's policy from docs/security.md
// (s3:GetObject on the prefix, s3:ListBucket under it), a reader loads
// what the manager published, finds a missing digest not stored rather
// than denied, and can write or delete nothing.
func TestS3ReadOnlyCredentials(t *testing.T) {
	writer, srv := newS3(t)
	if err := srv.AddReader(ctxT(t), "isr-reader", "reader-secret-0123456789", prefix); err != nil {
		t.Fatal(err)
	}
	p := htmlPage(34)
	mustPut(t, writer, p)

	t.Setenv("AWS_ACCESS_KEY_ID", "isr-reader")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "reader-secret-0123456789")
	reader, err := storage.NewS3(ctxT(t), options(srv))
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.Check(ctxT(t)); err != nil {
		t.Fatalf("Check with read-only credentials: %v", err)
	}
	mustGet(t, reader, p)
	if has, err := reader.Has(ctxT(t), staticPage, p.Digest); err != nil || !has {
		t.Fatalf("Has with read-only credentials = %v, %v", has, err)
	}
	missing := htmlPage(35)
	if _, err := reader.Get(ctxT(t), staticPage, missing.Digest); !errors.Is(err, storage.ErrNotStored) {
		t.Fatalf("Get of a digest never stored, read-only = %v, want ErrNotStored", err)
	}

	// The same keys write nothing: the reader is no writer in disguise.
	if _, err := reader.Put(ctxT(t), staticPage, missing); !errors.Is(err, storage.ErrDenied) {
		t.Errorf("Put with read-only credentials = %v, want ErrDenied", err)
	}
	if err := reader.Delete(ctxT(t), p.Digest); !errors.Is(err, storage.ErrDenied) {
		t.Errorf("Delete with read-only credentials = %v, want ErrDenied", err)
	}
	mustGet(t, writer, p)
	// Nor does it read outside the prefix.
	if _, err := srv.Client().PutObject(ctxT(t), srv.Bucket, "elsewhere/x", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = srv.ClientAs("isr-reader", "reader-secret-0123456789").StatObject(ctxT(t), srv.Bucket, "elsewhere/x", minio.StatObjectOptions{})
	if minio.ToErrorResponse(err).StatusCode != 403 {
		t.Errorf("reading outside the prefix, read-only = %v, want 403", err)
	}
}

func TestS3BucketDeleted(t *testing.T) {
	s3, srv := newS3(t)
	p := htmlPage(31)
	mustPut(t, s3, p)
	if err := srv.RemoveBucket(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_, getErr := s3.Get(ctxT(t), staticPage, p.Digest)
	_, putErr := s3.Put(ctxT(t), staticPage, htmlPage(32))
	_, listErr := s3.List(ctxT(t))
	for op, err := range map[string]error{"Get": getErr, "Put": putErr, "List": listErr, "Check": s3.Check(ctxT(t))} {
		if !errors.Is(err, storage.ErrNoBucket) || !errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrNotStored) {
			t.Errorf("%s without the bucket = %v, want ErrNoBucket", op, err)
			continue
		}
		if !strings.Contains(err.Error(), "bucket "+srv.Bucket+" does not exist") {
			t.Errorf("%s error does not name the bucket: %v", op, err)
		}
	}
	t.Logf("%v", getErr)
}

func TestS3OptionsValidate(t *testing.T) {
	valid := storage.DefaultS3Options()
	valid.Endpoint = "https://s3.eu-west-1.amazonaws.com"
	valid.Bucket = "pages"
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, tt := range []struct {
		name string
		mod  func(*storage.S3Options)
		says string
	}{
		{"no endpoint", func(o *storage.S3Options) { o.Endpoint = "" }, "--s3-endpoint is required"},
		{"http without allow", func(o *storage.S3Options) { o.Endpoint = "http://minio:9000" }, "--s3-allow-http"},
		{"other scheme", func(o *storage.S3Options) { o.Endpoint = "ftp://minio" }, "https://"},
		{"credentials in URL", func(o *storage.S3Options) { o.Endpoint = "https://key:secret@minio" }, "must not carry credentials"},
		{"path in URL", func(o *storage.S3Options) { o.Endpoint = "https://minio/pages" }, "--s3-bucket"},
		{"no host", func(o *storage.S3Options) { o.Endpoint = "https://" }, "no host"},
		{"CA file with http", func(o *storage.S3Options) { o.Endpoint, o.AllowHTTP, o.CAFile = "http://minio", true, "/ca.pem" }, "--s3-ca-file"},
		{"no bucket", func(o *storage.S3Options) { o.Bucket = "" }, "--s3-bucket is required"},
		{"bad bucket", func(o *storage.S3Options) { o.Bucket = "Pages_1" }, "not a valid bucket name"},
		{"prefix with empty segment", func(o *storage.S3Options) { o.Prefix = "a//b" }, "--s3-prefix"},
		{"prefix with ..", func(o *storage.S3Options) { o.Prefix = "a/../b" }, "--s3-prefix"},
		{"no timeout", func(o *storage.S3Options) { o.Timeout = 0 }, "--s3-timeout"},
	} {
		o := valid
		tt.mod(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: Validate = %v, want it to say %q", tt.name, err, tt.says)
		}
	}
	ok := valid
	ok.Endpoint, ok.AllowHTTP, ok.Prefix = "http://127.0.0.1:7070/", true, "/tenants/a/"
	if err := ok.Validate(); err != nil {
		t.Errorf("http with --s3-allow-http and a slashed prefix: %v", err)
	}
}

func TestS3OptionsBindFlags(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o := storage.DefaultS3Options()
	o.BindFlags(fs)
	err := fs.Parse([]string{
		"--s3-endpoint=https://minio.storage.svc:9000", "--s3-bucket=pages", "--s3-prefix=prod",
		"--s3-region=eu-west-1", "--s3-path-style", "--s3-ca-file=/etc/ca.pem", "--s3-allow-http=false", "--s3-timeout=3s",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := storage.S3Options{Endpoint: "https://minio.storage.svc:9000", Bucket: "pages", Prefix: "prod", Region: "eu-west-1", PathStyle: true, CAFile: "/etc/ca.pem", Timeout: 3 * time.Second}
	if o != want {
		t.Errorf("flags parsed into %+v, want %+v", o, want)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if len(f.Usage) < 20 {
			t.Errorf("--%s has no real documentation: %q", f.Name, f.Usage)
		}
		if strings.Contains(f.Name, "secret") || strings.Contains(f.Name, "access-key") {
			t.Errorf("--%s: credentials never come from flags", f.Name)
		}
	})
}

func TestNewS3CAFile(t *testing.T) {
	o := storage.DefaultS3Options()
	o.Endpoint, o.Bucket = "https://minio.storage.svc", "pages"
	o.CAFile = t.TempDir() + "/missing.pem"
	if _, err := storage.NewS3(ctxT(t), o); err == nil || !strings.Contains(err.Error(), "--s3-ca-file") {
		t.Errorf("NewS3 with a missing CA file = %v", err)
	}
}
