package server

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/render"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/storage/s3test"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// A headerSource is where a server of the header table loads its pages
// from. open stores the header pages there once, for t and its subtests,
// and returns what fills a new table from it.
type headerSource struct {
	name string
	open func(t *testing.T) (fill func(t *testing.T, table *Table))
}

// headerSources: entries built in memory, and the two storage backends
// behind the route sync that every server runs, on real servers.
var headerSources = []headerSource{
	{"memory", openMemory},
	{"configmap", openConfigMaps},
	{"s3", openS3},
}

// storedAt is when the header pages were stored: their Last-Modified.
var storedAt = t0.Add(-time.Minute)

// openMemory builds entries from objects made here, as the other checks of
// this package do.
func openMemory(*testing.T) func(*testing.T, *Table) {
	return func(t *testing.T, table *Table) {
		for _, hp := range headerPages {
			table.Put(newTestEntry(t, hp.name, hp.host, hp.route, hp.body, hp.revalidate, hp.mode))
		}
	}
}

// openConfigMaps starts a control plane, creates the header pages there and
// stores each in its ConfigMap, as the controller does.
func openConfigMaps(t *testing.T) func(*testing.T, *Table) {
	_, c := testenv.StartT(t)
	ctx := context.Background()
	const ns = "headers"
	if err := c.Create(ctx, testenv.Namespace(ns)); err != nil {
		t.Fatal(err)
	}
	store := &storage.ConfigMaps{Client: c, Scheme: kube.Scheme(), Now: func() time.Time { return storedAt }}
	var pages []*pagesv1alpha1.StaticPage
	for _, hp := range headerPages {
		p := hp.staticPage(ns)
		status := p.Status
		// The ConfigMap is owned by the page, so the page must exist.
		if err := c.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		p.Status = status
		if _, err := store.Put(ctx, p, hp.renderedPage()); err != nil {
			t.Fatalf("storing %s: %v", hp.name, err)
		}
		pages = append(pages, p)
	}
	return syncInto(store, false, pages)
}

// openS3 starts versitygw and publishes the header pages into its bucket,
// as the controller does.
func openS3(t *testing.T) func(*testing.T, *Table) {
	srv := s3test.Run(t)
	srv.SetEnv(t)
	o := storage.DefaultS3Options()
	o.Endpoint, o.Bucket, o.Prefix = srv.Endpoint, srv.Bucket, "headers"
	o.PathStyle, o.AllowHTTP, o.Timeout = true, true, 5*time.Second
	store, err := storage.NewS3(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	store.Now = func() time.Time { return storedAt }
	var pages []*pagesv1alpha1.StaticPage
	for _, hp := range headerPages {
		p := hp.staticPage("headers")
		if _, err := store.Put(context.Background(), p, hp.renderedPage()); err != nil {
			t.Fatalf("storing %s: %v", hp.name, err)
		}
		pages = append(pages, p)
	}
	return syncInto(store, true, pages)
}

// syncInto fills a table with pages through the route sync, which loads
// each from store as a server does on a StaticPage event.
func syncInto(store storage.Reader, objectStore bool, pages []*pagesv1alpha1.StaticPage) func(*testing.T, *Table) {
	return func(t *testing.T, table *Table) {
		rs := &RouteSync{Store: store, Table: table, Policy: policy, ObjectStore: objectStore}
		for _, p := range pages {
			if err := rs.sync(context.Background(), p); err != nil {
				t.Fatalf("loading %s: %v", p.Name, err)
			}
			if e := table.Get(types.NamespacedName{Namespace: p.Namespace, Name: p.Name}); e == nil || e.Unavailable || e.cold {
				t.Fatalf("%s is not held after loading it", p.Name)
			}
		}
	}
}

// staticPage is hp as a StaticPage rendered at t0, in namespace ns.
func (hp headerPage) staticPage(ns string) *pagesv1alpha1.StaticPage {
	p, _ := testPage(hp.name, hp.host, hp.route, hp.body, hp.revalidate, hp.mode)
	p.Namespace = ns
	p.CreationTimestamp = metav1.Time{}
	p.Spec.Origin.URL = "http://origin.example" + hp.route
	if p.Spec.RevalidateMode == "" {
		p.Spec.RevalidateMode = pagesv1alpha1.RevalidateInterval
	}
	return p
}

// renderedPage is hp's body as the controller hands it to storage.
func (hp headerPage) renderedPage() *render.Page {
	return &render.Page{Body: []byte(hp.body), ContentType: "text/html; charset=utf-8", Digest: digest.Of([]byte(hp.body))}
}
