package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/render"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// TestConfigMapLoads runs the route sync on ConfigMaps read uncached, with a
// bounded body cache, against a real API server: a page whose status names
// content its ConfigMap does not hold yet keeps serving what it held and
// serves the new content once the ConfigMap's event brings it back; a cold
// page is loaded on request; a cold page whose ConfigMap is gone answers
// 503, never 404, as from an object store.
func TestConfigMapLoads(t *testing.T) {
	_, c := testenv.StartT(t)
	ctx := context.Background()
	const ns = "loads"
	if err := c.Create(ctx, testenv.Namespace(ns)); err != nil {
		t.Fatal(err)
	}
	store := &storage.ConfigMaps{Client: c, Reader: c, Scheme: kube.Scheme()}
	const oldBody, newBody = "<p>old</p>", "<p>new</p>"
	p, _ := testPage("p", "", "/p", oldBody, 0, pagesv1alpha1.RevalidateInterval)
	p.Namespace = ns
	p.Spec.Origin.URL = "http://origin.example/p"
	status := p.Status
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Status = status
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	put := func(p *pagesv1alpha1.StaticPage, body string) {
		t.Helper()
		page := &render.Page{Body: []byte(body), ContentType: "text/html", Digest: digest.Of([]byte(body))}
		if _, err := store.Put(ctx, p, page); err != nil {
			t.Fatal(err)
		}
	}
	put(p, oldBody)
	name := types.NamespacedName{Namespace: ns, Name: "p"}

	rs := &RouteSync{Client: c, Store: store, Table: NewTable(), Policy: policy, cache: newBodyCache(1 << 20)}
	h, _, _ := handlerFor(rs.Table)
	h.Load = rs.Load
	serve := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://any/p", nil))
		return rec
	}
	sync := func(p *pagesv1alpha1.StaticPage) {
		t.Helper()
		if err := rs.sync(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	// Starting: the page is known, cold, and loaded on its request.
	sync(p)
	if rs.Table.Held("any", "/p") || rs.HeldBytes() != 0 {
		t.Fatal("a starting server loaded a body before its request")
	}
	if w := serve(); w.Code != http.StatusOK || w.Body.String() != oldBody {
		t.Fatalf("cold page: %d %q, want 200 %q", w.Code, w.Body, oldBody)
	}
	if rs.Loads() != 1 || rs.HeldBytes() == 0 {
		t.Fatalf("after the first request: %d loads, %d bytes held; want 1 load and the body held", rs.Loads(), rs.HeldBytes())
	}
	rs.ready.Store(true)

	// The status moves to new content before the page's ConfigMap holds it.
	next := p.DeepCopy()
	next.Status.Digest = digest.Of([]byte(newBody))
	sync(next)
	if w := serve(); w.Body.String() != oldBody {
		t.Fatalf("with the ConfigMap behind the status: served %q, want the held %q", w.Body, oldBody)
	}
	put(next, newBody)
	sync(next) // what the ConfigMap's metadata event does
	if w := serve(); w.Code != http.StatusOK || w.Body.String() != newBody {
		t.Fatalf("once the ConfigMap holds the new content: %d %q, want 200 %q", w.Code, w.Body, newBody)
	}

	// A cold page whose ConfigMap is gone.
	if err := c.Status().Update(ctx, next); err != nil {
		t.Fatal(err)
	}
	cold := NewTable()
	rs = &RouteSync{Client: c, Store: store, Table: cold, Policy: policy, cache: newBodyCache(1 << 20)}
	h.Table, h.Load = cold, rs.Load
	sync(next)
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: storage.ConfigMapName(next)}, cm); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, cm); err != nil {
		t.Fatal(err)
	}
	w := serve()
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Retry-After") == "" {
		t.Fatalf("cold page with no ConfigMap: %d %v, want 503 no-store with Retry-After", w.Code, w.Header())
	}
	if rs.Table.Get(name) == nil {
		t.Fatal("the page was forgotten")
	}
}
