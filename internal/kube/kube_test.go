package kube_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

func TestStripUnread(t *testing.T) {
	p := &pagesv1alpha1.StaticPage{}
	p.Annotations = map[string]string{kube.LastAppliedAnnotation: `{"spec":{}}`, pagesv1alpha1.RevalidateAnnotation: "1"}
	p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	for range 2 { // idempotent
		if _, err := kube.StripUnread(p); err != nil {
			t.Fatal(err)
		}
		if p.ManagedFields != nil || len(p.Annotations) != 1 || p.Annotations[pagesv1alpha1.RevalidateAnnotation] != "1" {
			t.Fatalf("left managedFields %v, annotations %v", p.ManagedFields, p.Annotations)
		}
	}
	// Not an object: passed through.
	if out, err := kube.StripUnread("x"); err != nil || out != "x" {
		t.Fatalf("kube.StripUnread(non-object) = %v, %v", out, err)
	}
}

// TestCachesStrip runs the server's cache against a real API server: cached
// objects (and the page ConfigMaps' metadata, all the server caches of them)
// come without managedFields and the last-applied annotation, and an update
// from a stripped copy leaves the API server's managedFields in place.
func TestCachesStrip(t *testing.T) {
	cfg, direct := testenv.StartT(t)
	scheme := kube.Scheme()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	page := &pagesv1alpha1.StaticPage{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p",
		Annotations: map[string]string{kube.LastAppliedAnnotation: `{"kind":"StaticPage"}`},
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

	opts := kube.ServerCacheOptions(nil)
	opts.Scheme = scheme
	c, err := cache.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	gotPage := &pagesv1alpha1.StaticPage{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(page), gotPage); err != nil {
		t.Fatal(err)
	}
	if gotPage.ManagedFields != nil || gotPage.Annotations[kube.LastAppliedAnnotation] != "" {
		t.Errorf("cached StaticPage keeps managedFields (%d) or last-applied (%q)", len(gotPage.ManagedFields), gotPage.Annotations[kube.LastAppliedAnnotation])
	}
	if gotPage.Finalizers != nil || gotPage.Spec.Route != "/p" {
		t.Errorf("the server's cached StaticPage is not slimmed (finalizers %v) or lost its route (%q)", gotPage.Finalizers, gotPage.Spec.Route)
	}
	key := types.NamespacedName{Namespace: "default", Name: "isr-p"}
	cmMeta := &metav1.PartialObjectMetadata{}
	cmMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	if err := c.Get(ctx, key, cmMeta); err != nil {
		t.Fatal(err)
	}
	if cmMeta.ManagedFields != nil {
		t.Error("cached ConfigMap metadata keeps managedFields")
	}

	// The manager's cache (deep copies) under an update: the API server keeps
	// managedFields that the cached copy no longer has.
	mopts := kube.CacheOptions(nil)
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
}
