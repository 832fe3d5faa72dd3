package kube

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/storage"
)

func TestStripUnread(t *testing.T) {
	p := &pagesv1alpha1.StaticPage{}
	p.Annotations = map[string]string{LastAppliedAnnotation: `{"spec":{}}`, pagesv1alpha1.RevalidateAnnotation: "1"}
	p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	for range 2 { // idempotent
		if _, err := StripUnread(p); err != nil {
			t.Fatal(err)
		}
		if p.ManagedFields != nil || len(p.Annotations) != 1 || p.Annotations[pagesv1alpha1.RevalidateAnnotation] != "1" {
			t.Fatalf("left managedFields %v, annotations %v", p.ManagedFields, p.Annotations)
		}
	}
	// Not an object: passed through.
	if out, err := StripUnread("x"); err != nil || out != "x" {
		t.Fatalf("StripUnread(non-object) = %v, %v", out, err)
	}
}

// TestCachesStrip runs the server's cache against a real API server: cached
// objects come without managedFields and the last-applied annotation, a
// ConfigMap read twice shares its body, and an update from a stripped copy
// leaves the API server's managedFields in place.
func TestCachesStrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		assets, _ := filepath.Abs(filepath.Join("..", "..", "bin", "k8s"))
		if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
			t.Skip("no kube-apiserver in bin/k8s: run make tools")
		}
		t.Setenv("KUBEBUILDER_ASSETS", assets)
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := Scheme()
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	page := &pagesv1alpha1.StaticPage{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p",
		Annotations: map[string]string{LastAppliedAnnotation: `{"kind":"StaticPage"}`},
		Finalizers:  []string{"example.com/keep"}}}
	page.Spec.Route = "/p"
	page.Spec.Origin.URL = "http://origin.example/p"
	if err := direct.Create(ctx, page); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "isr-p",
		Labels: map[string]string{storage.ComponentLabel: storage.ComponentPage}},
		BinaryData: map[string][]byte{storage.BodyKey: []byte("gz")}}
	if err := direct.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}

	pages := NewServedPages()
	opts := ServerCacheOptions(nil, pages)
	opts.Scheme = scheme
	c, err := cache.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := pages.NewClient(cfg, client.Options{Scheme: scheme, Cache: &client.CacheOptions{Reader: c}})
	if err != nil {
		t.Fatal(err)
	}
	gotPage := &pagesv1alpha1.StaticPage{}
	// Before the cache runs, a read says so rather than finding nothing.
	if err := sc.Get(ctx, client.ObjectKeyFromObject(page), gotPage); !errors.As(err, new(*cache.ErrCacheNotStarted)) {
		t.Errorf("a read before the cache started: %v", err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	if err := sc.Get(ctx, client.ObjectKeyFromObject(page), gotPage); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(page), &pagesv1alpha1.StaticPage{}); err == nil {
		t.Error("the cache's own reader gives a StaticPage: the cache holds no ServedPages")
	}
	list := &pagesv1alpha1.StaticPageList{}
	if err := sc.List(ctx, list, client.InNamespace("default")); err != nil || len(list.Items) != 1 || list.Items[0].Spec.Route != "/p" {
		t.Errorf("listing the cached StaticPages: %v, %+v", err, list.Items)
	}
	if err := sc.Get(ctx, types.NamespacedName{Namespace: "default", Name: "absent"}, &pagesv1alpha1.StaticPage{}); !apierrors.IsNotFound(err) {
		t.Errorf("reading an absent StaticPage: %v, want NotFound", err)
	}
	if gotPage.ManagedFields != nil || gotPage.Annotations[LastAppliedAnnotation] != "" {
		t.Errorf("cached StaticPage keeps managedFields (%d) or last-applied (%q)", len(gotPage.ManagedFields), gotPage.Annotations[LastAppliedAnnotation])
	}
	if gotPage.Finalizers != nil || gotPage.Spec.Route != "/p" {
		t.Errorf("the server's cached StaticPage is not slimmed (finalizers %v) or lost its route (%q)", gotPage.Finalizers, gotPage.Spec.Route)
	}
	key := types.NamespacedName{Namespace: "default", Name: "isr-p"}
	a, b := &corev1.ConfigMap{}, &corev1.ConfigMap{}
	if err := c.Get(ctx, key, a); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, key, b); err != nil {
		t.Fatal(err)
	}
	if a.ManagedFields != nil {
		t.Error("cached ConfigMap keeps managedFields")
	}
	if &a.BinaryData[storage.BodyKey][0] != &b.BinaryData[storage.BodyKey][0] {
		t.Error("two reads of a cached ConfigMap hold two copies of its body")
	}

	// The manager's cache (deep copies) under an update: the API server keeps
	// managedFields that the cached copy no longer has.
	mopts := CacheOptions(nil)
	mopts.Scheme = scheme
	mc, err := cache.New(cfg, mopts)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = mc.Start(ctx) }()
	if !mc.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	upd := &corev1.ConfigMap{}
	if err := mc.Get(ctx, key, upd); err != nil {
		t.Fatal(err)
	}
	upd.BinaryData[storage.BodyKey] = []byte("gz2")
	if err := direct.Update(ctx, upd); err != nil {
		t.Fatal(err)
	}
	fresh := &corev1.ConfigMap{}
	if err := direct.Get(ctx, key, fresh); err != nil {
		t.Fatal(err)
	}
	if len(fresh.ManagedFields) == 0 {
		t.Error("an update from a stripped copy cleared the API server's managedFields")
	}
	if string(a.BinaryData[storage.BodyKey]) != "gz" {
		t.Error("the manager's update changed what the server's cache handed out")
	}
}
