package kube

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// fullPage is a StaticPage with every field the server's transform looks
// at, built anew on each call (no string or map shared between calls).
func fullPage(name, team string) *pagesv1alpha1.StaticPage {
	clone := func(s string) string { return string([]byte(s)) }
	created := metav1.NewTime(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC).Local())
	rendered := metav1.NewTime(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).Local())
	return &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: clone("shop"), Name: name, UID: "0b9c6c1e-5f4e-4c2b-9a55-1d2e3f405162", ResourceVersion: "42", Generation: 3,
			CreationTimestamp: created,
			Labels:            map[string]string{clone("team"): clone(team), clone("app"): clone("shop")},
			Annotations: map[string]string{
				LastAppliedAnnotation:               `{"kind":"StaticPage"}`,
				pagesv1alpha1.RevalidateAnnotation:  "now",
				pagesv1alpha1.RequestedAtAnnotation: "2026-11-28T10:00:00Z",
				"argocd.argoproj.io/tracking-id":    "shop:pages/StaticPage:shop/" + name,
			},
			Finalizers:      []string{pagesv1alpha1.StorageFinalizer},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clone("pages.isr-operator.io/v1alpha1"), Kind: clone("StaticPageSet"), Name: "products", UID: "set-uid", Controller: ptr.To(true)}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: pagesv1alpha1.StaticPageSpec{
			Route: "/" + name, Host: "shop.example", Origin: pagesv1alpha1.Origin{URL: "https://cms.example/" + name},
			Set: pagesv1alpha1.SetReference{Name: "products"}, Revalidate: &metav1.Duration{Duration: time.Hour},
			RevalidateMode: pagesv1alpha1.RevalidateInterval, Suspend: ptr.To(false),
		},
		Status: pagesv1alpha1.StaticPageStatus{
			ObservedGeneration: 3, RenderedAt: &rendered, Size: 20480, ContentType: "text/html", OriginURL: "https://cms.example/" + name,
			Digest:                "sha256:" + strings.Repeat("0123456789abcdef", 4),
			LastHandledRevalidate: "now",
			Conditions: []metav1.Condition{
				{Type: clone("Ready"), Status: metav1.ConditionStatus(clone("True")), Reason: clone("Rendered"), Message: "rendered", ObservedGeneration: 3, LastTransitionTime: rendered},
				{Type: "Stale", Status: metav1.ConditionFalse, Reason: "Fresh", Message: "fresh"},
			},
		},
	}
}

// servedOf is what SlimServerPage stores for p.
func servedOf(t *testing.T, p *pagesv1alpha1.StaticPage) *ServedPage {
	t.Helper()
	out, err := SlimServerPage(p)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := out.(*ServedPage)
	if !ok {
		t.Fatalf("a StaticPage is stored as a %T", out)
	}
	return s
}

func TestSlimServerPage(t *testing.T) {
	a := servedOf(t, fullPage("a", "web"))
	got := a.StaticPage()

	// What the server reads is all there; the rest is gone.
	want := fullPage("a", "web")
	want.ManagedFields, want.Finalizers, want.OwnerReferences = nil, nil, nil
	want.Spec.Origin = pagesv1alpha1.Origin{}
	want.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Rendered"}}
	want.Annotations = map[string]string{pagesv1alpha1.RevalidateAnnotation: "now", pagesv1alpha1.RequestedAtAnnotation: "2026-11-28T10:00:00Z"}
	want.Status.Size, want.Status.ContentType, want.Status.OriginURL = 0, "", ""
	if !equality.Semantic.DeepEqual(got, want) {
		t.Fatalf("served page read back:\n%+v\nwant\n%+v", got, want)
	}
	// A copy the caller may change, not the stored maps.
	got.Labels["team"] = "changed"
	if a.GetLabels()["team"] != "web" {
		t.Error("changing a page read back changes the stored one")
	}

	// Pages with the same labels share one map; the same namespace and
	// condition words, one copy.
	b := servedOf(t, fullPage("b", "web"))
	if reflect.ValueOf(a.GetLabels()).UnsafePointer() != reflect.ValueOf(b.GetLabels()).UnsafePointer() {
		t.Error("two pages with the same labels hold two maps")
	}
	sameString := func(what, x, y string) {
		t.Helper()
		if x != y || unsafe.StringData(x) != unsafe.StringData(y) {
			t.Errorf("%s: two copies of %q", what, x)
		}
	}
	sameString("namespace", a.GetNamespace(), b.GetNamespace())
	sameString("condition reason", a.ready.reason, b.ready.reason)
	c := servedOf(t, fullPage("c", "data"))
	if reflect.ValueOf(a.GetLabels()).UnsafePointer() == reflect.ValueOf(c.GetLabels()).UnsafePointer() {
		t.Error("pages with different labels share a map")
	}

	// A page with none of the annotations the server reads keeps none.
	p := fullPage("d", "web")
	p.Annotations = map[string]string{"example.com/note": "x"}
	if s := servedOf(t, p); s.GetAnnotations() != nil {
		t.Errorf("annotations the server does not read are left: %v", s.GetAnnotations())
	}

	// The message of a Ready condition that is not True is what the
	// revalidate API reports as the reason a page is not live: it stays.
	f := fullPage("e", "web")
	f.Status.Conditions[0].Status, f.Status.Conditions[0].Message = metav1.ConditionFalse, "origin answered 503"
	if got := servedOf(t, f).StaticPage().Status.Conditions; len(got) != 1 || got[0].Message != "origin answered 503" {
		t.Errorf("a False Ready condition read back: %+v", got)
	}

	// A UID or digest that is not in the compact form is kept as text; no
	// time, revalidate, suspend or condition reads back as set when unset.
	odd := fullPage("f", "web")
	odd.UID, odd.Status.Digest = "not-a-uuid", "sha256:ABC"
	odd.Spec.Revalidate, odd.Spec.Suspend, odd.Status.RenderedAt, odd.Status.Conditions = nil, nil, nil, nil
	back := servedOf(t, odd).StaticPage()
	if back.UID != "not-a-uuid" || back.Status.Digest != "sha256:ABC" || back.Spec.Revalidate != nil || back.Spec.Suspend != nil ||
		back.Status.RenderedAt != nil || back.Status.Conditions != nil || back.DeletionTimestamp != nil {
		t.Errorf("odd page read back: %+v", back)
	}
	for _, uid := range []types.UID{"", "00000000-0000-0000-0000-000000000000", "0B9C6C1E-5F4E-4C2B-9A55-1D2E3F405162"} {
		p := fullPage("u", "web")
		p.UID = uid
		if got := servedOf(t, p).GetUID(); got != uid {
			t.Errorf("UID %q read back as %q", uid, got)
		}
	}
	deleting := fullPage("g", "web")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Unix(1_800_000_000, 0)}
	deleting.Spec.Suspend = ptr.To(true)
	if back := servedOf(t, deleting).StaticPage(); back.DeletionTimestamp.IsZero() || !back.Suspended() {
		t.Errorf("deleting, suspended page read back: %+v", back)
	}

	// The informer hands its own objects back on a resync: kept as they are.
	if again, err := SlimServerPage(a); err != nil || again != a {
		t.Errorf("a ServedPage through the transform: %v, %v", again, err)
	}

	// Other objects only lose what StripUnread strips.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Finalizers: []string{"keep"}, ManagedFields: []metav1.ManagedFieldsEntry{{}}}}
	if _, err := SlimServerPage(cm); err != nil || cm.ManagedFields != nil || len(cm.Finalizers) != 1 {
		t.Errorf("a ConfigMap through the page transform: %+v, %v", cm.ObjectMeta, err)
	}
}

func TestAsStaticPage(t *testing.T) {
	full := fullPage("a", "web")
	if p, ok := AsStaticPage(full); !ok || p != full {
		t.Error("a StaticPage is not itself")
	}
	if p, ok := AsStaticPage(NewServedPage(full)); !ok || p.Spec.Route != "/a" || p.UID != full.UID {
		t.Errorf("a ServedPage as a StaticPage: %+v", p)
	}
	if _, ok := AsStaticPage(&corev1.ConfigMap{}); ok {
		t.Error("a ConfigMap is a StaticPage")
	}
}

// BenchmarkNewServedPage reports what a server's cache allocates for one
// page (B/op): the ServedPage and the strings it does not share.
func BenchmarkNewServedPage(b *testing.B) {
	pages := make([]*pagesv1alpha1.StaticPage, 1000)
	for i := range pages {
		pages[i] = fullPage(fmt.Sprintf("p-%d", i), "web")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = NewServedPage(pages[i%len(pages)])
	}
}
