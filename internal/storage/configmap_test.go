package storage_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// TestConfigMapPutReportsStoredBytes stores a page in its ConfigMap on a
// real API server: Put reports what Encode makes of the page (body, gzip
// and brotli, as servers hold it), and keeps the brotli beside the gzip;
// the same content again reports the same bytes without writing, and a
// ConfigMap that does not record them is written again, keeping its
// stored-at time.
func TestConfigMapPutReportsStoredBytes(t *testing.T) {
	_, c := testenv.StartT(t)
	ctx := context.Background()
	const ns = "shop"
	if err := c.Create(ctx, testenv.Namespace(ns)); err != nil {
		t.Fatal(err)
	}
	page := &pagesv1alpha1.StaticPage{}
	page.Namespace, page.Name = ns, "product-42"
	page.Spec.Route = "/products/42"
	page.Spec.Origin.URL = "http://shop.shop.svc/products/42"
	if err := c.Create(ctx, page); err != nil {
		t.Fatal(err)
	}
	p := htmlPage(1)
	enc, err := storage.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Gzip == nil || enc.Brotli == nil {
		t.Fatal("the test page must compress in both codings")
	}
	want := int64(len(p.Body) + len(enc.Gzip) + len(enc.Brotli))
	store := &storage.ConfigMaps{Client: c, Scheme: kube.Scheme()}
	put := func(wantChanged bool) {
		t.Helper()
		got, err := store.Put(ctx, page, p)
		if err != nil {
			t.Fatal(err)
		}
		if got != (storage.Stored{Changed: wantChanged, Bytes: want}) {
			t.Errorf("Put = %+v, want changed=%v with %d bytes", got, wantChanged, want)
		}
	}
	put(true)
	put(false)

	// The brotli made to count it is kept beside the gzip, so a server
	// that loads the page does not make it again.
	obj, err := store.Get(ctx, page, p.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(obj.Brotli, enc.Brotli) || !bytes.Equal(obj.Gzip, enc.Gzip) {
		t.Errorf("Get returned %d bytes of brotli and %d of gzip, want Encode's %d and %d", len(obj.Brotli), len(obj.Gzip), len(enc.Brotli), len(enc.Gzip))
	}

	cmKey := client.ObjectKey{Namespace: ns, Name: storage.ConfigMapName(page)}
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, cmKey, cm); err != nil {
		t.Fatal(err)
	}
	storedAt := "2020-01-02T03:04:05Z"
	cm.Annotations[storage.StoredAtAnnotation] = storedAt
	delete(cm.Annotations, storage.StoredBytesAnnotation)
	if err := c.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	put(true)
	if err := c.Get(ctx, cmKey, cm); err != nil {
		t.Fatal(err)
	}
	if got := cm.Annotations[storage.StoredAtAnnotation]; got != storedAt {
		t.Errorf("rewriting the same content moved stored-at to %s, want %s", got, storedAt)
	}
	put(false)
}

// TestConfigMapGetChecksTheDigest stores a page in its ConfigMap on a real
// API server, then rewrites the ConfigMap's body as anyone who may write
// ConfigMaps in the namespace could, leaving its digest annotation: Get
// refuses every body that does not hash to the page's digest, as the
// object store's Get does, and returns the one that does.
func TestConfigMapGetChecksTheDigest(t *testing.T) {
	_, c := testenv.StartT(t)
	ctx := context.Background()
	const ns = "shop"
	if err := c.Create(ctx, testenv.Namespace(ns)); err != nil {
		t.Fatal(err)
	}
	page := &pagesv1alpha1.StaticPage{}
	page.Namespace, page.Name = ns, "product-42"
	page.Spec.Route = "/products/42"
	page.Spec.Origin.URL = "http://shop.shop.svc/products/42"
	if err := c.Create(ctx, page); err != nil {
		t.Fatal(err)
	}
	p := htmlPage(1)
	store := &storage.ConfigMaps{Client: c, Scheme: kube.Scheme(), MaxBodyBytes: int64(len(p.Body)) * 4}
	if _, err := store.Put(ctx, page, p); err != nil {
		t.Fatal(err)
	}
	cmKey := client.ObjectKey{Namespace: ns, Name: storage.ConfigMapName(page)}
	setBody := func(t *testing.T, body []byte) {
		t.Helper()
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, cmKey, cm); err != nil {
			t.Fatal(err)
		}
		cm.BinaryData[storage.BodyKey] = body
		if err := c.Update(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	gzipped := func(t *testing.T, body []byte) []byte {
		t.Helper()
		gz, err := storage.Compress(body)
		if err != nil {
			t.Fatal(err)
		}
		return gz
	}

	t.Run("the stored body", func(t *testing.T) {
		obj, err := store.Get(ctx, page, p.Digest)
		if err != nil {
			t.Fatalf("Get of the stored page: %v", err)
		}
		if body, err := obj.Body(0); err != nil || !bytes.Equal(body, p.Body) {
			t.Errorf("Body = %d bytes, %v; want the %d bytes stored", len(body), err, len(p.Body))
		}
	})
	for _, tt := range []struct {
		name string
		body func(t *testing.T) []byte
		want string
	}{
		{"another page's body", func(t *testing.T) []byte { return gzipped(t, htmlPage(2).Body) }, "hashes to"},
		{"a script added to the body", func(t *testing.T) []byte {
			return gzipped(t, append(bytes.Clone(p.Body), "<script>steal()</script>"...))
		}, "hashes to"},
		{"bytes that are not gzip", func(*testing.T) []byte { return bytes.ToUpper(p.Body) }, "reading stored page"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setBody(t, tt.body(t))
			_, err := store.Get(ctx, page, p.Digest)
			if !errors.Is(err, storage.ErrCorrupt) || !errors.Is(err, storage.ErrNotStored) {
				t.Fatalf("Get = %v, want ErrCorrupt (and ErrNotStored)", err)
			}
			for _, want := range []string{cmKey.String(), tt.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error %q does not say %q", err, want)
				}
			}
			if got := storage.ErrorReason(err); got != "corrupt" {
				t.Errorf("counted as %q, want corrupt", got)
			}
		})
	}
	t.Run("a body that inflates past the limit", func(t *testing.T) {
		setBody(t, gzipped(t, bytes.Repeat([]byte("a"), int(store.MaxBodyBytes)+1)))
		if _, err := store.Get(ctx, page, p.Digest); !errors.Is(err, storage.ErrTooLarge) {
			t.Fatalf("Get = %v, want ErrTooLarge", err)
		}
	})
}

// TestConfigMapPutTakesOverWhatAnEarlierPageLeft stores a page, deletes
// it and creates it again under the same name, as a StaticPageSet's page
// evicted and then requested again is, before the garbage collector (which
// this API server runs none of) removed its ConfigMap: Put stores the new
// page's content in that ConfigMap and makes the new page its controller.
// A ConfigMap that another page's name controls stays refused.
func TestConfigMapPutTakesOverWhatAnEarlierPageLeft(t *testing.T) {
	_, c := testenv.StartT(t)
	ctx := context.Background()
	const ns = "shop"
	if err := c.Create(ctx, testenv.Namespace(ns)); err != nil {
		t.Fatal(err)
	}
	newPage := func() *pagesv1alpha1.StaticPage {
		page := &pagesv1alpha1.StaticPage{}
		page.Namespace, page.Name = ns, "product-7"
		page.Spec.Route = "/products/7"
		page.Spec.Origin.URL = "http://shop.shop.svc/products/7"
		if err := c.Create(ctx, page); err != nil {
			t.Fatal(err)
		}
		return page
	}
	store := &storage.ConfigMaps{Client: c, Scheme: kube.Scheme()}
	first := newPage()
	if _, err := store.Put(ctx, first, htmlPage(1)); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	again := newPage()
	p := htmlPage(2)
	if got, err := store.Put(ctx, again, p); err != nil || !got.Changed {
		t.Fatalf("Put over the ConfigMap the earlier page left = %+v, %v; want it stored", got, err)
	}
	obj, err := store.Get(ctx, again, p.Digest)
	if err != nil {
		t.Fatalf("Get after taking it over: %v", err)
	}
	if obj.Digest != p.Digest {
		t.Errorf("Get = %s, want %s", obj.Digest, p.Digest)
	}

	other := &pagesv1alpha1.StaticPage{}
	other.Namespace, other.Name = ns, "product-8"
	other.Spec.Route = "/products/8"
	other.Spec.Origin.URL = "http://shop.shop.svc/products/8"
	if err := c.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: storage.ConfigMapName(again)}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Name, cm.ResourceVersion, cm.UID = storage.ConfigMapName(other), "", ""
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(ctx, other, p); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("Put over a ConfigMap another page controls: %v, want ErrConflict", err)
	}
}
