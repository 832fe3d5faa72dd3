package kube_test

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
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
				kube.LastAppliedAnnotation:          `{"kind":"StaticPage"}`,
				pagesv1alpha1.RevalidateAnnotation:  "now",
				pagesv1alpha1.RequestedAtAnnotation: "2026-11-28T10:00:00Z",
				"argocd.argoproj.io/tracking-id":    "shop:pages/StaticPage:shop/" + name,
			},
			Finalizers:      []string{pagesv1alpha1.StorageFinalizer},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clone("pages.isr-operator.io/v1alpha1"), Kind: clone("StaticPageSet"), Name: "products", UID: "set-uid", Controller: new(true)}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: pagesv1alpha1.StaticPageSpec{
			Route: "/" + name, Host: "shop.example", Origin: pagesv1alpha1.Origin{URL: "https://cms.example/" + name},
			Set: pagesv1alpha1.SetReference{Name: "products"}, Revalidate: &metav1.Duration{Duration: time.Hour},
			RevalidateMode: pagesv1alpha1.RevalidateInterval, Suspend: new(false),
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

// slim is what SlimServerPage stores for p.
func slim(t *testing.T, p *pagesv1alpha1.StaticPage) *pagesv1alpha1.StaticPage {
	t.Helper()
	out, err := kube.SlimServerPage(p)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := out.(*pagesv1alpha1.StaticPage)
	if !ok {
		t.Fatalf("a StaticPage is stored as a %T", out)
	}
	return s
}

func TestSlimServerPage(t *testing.T) {
	a := slim(t, fullPage("a", "web"))

	// What the server reads is all there; the rest is gone.
	want := fullPage("a", "web")
	want.ManagedFields, want.Finalizers, want.OwnerReferences = nil, nil, nil
	want.Spec.Origin = pagesv1alpha1.Origin{}
	want.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Rendered"}}
	want.Annotations = map[string]string{pagesv1alpha1.RevalidateAnnotation: "now", pagesv1alpha1.RequestedAtAnnotation: "2026-11-28T10:00:00Z"}
	want.Status.Size, want.Status.ContentType, want.Status.OriginURL = 0, "", ""
	if !equality.Semantic.DeepEqual(a, want) {
		t.Fatalf("slimmed page:\n%+v\nwant\n%+v", a, want)
	}

	// Pages with the same labels share one map; the same namespace and
	// condition words, one copy.
	b := slim(t, fullPage("b", "web"))
	if reflect.ValueOf(a.Labels).UnsafePointer() != reflect.ValueOf(b.Labels).UnsafePointer() {
		t.Error("two pages with the same labels hold two maps")
	}
	sameString := func(what, x, y string) {
		t.Helper()
		if x != y || unsafe.StringData(x) != unsafe.StringData(y) {
			t.Errorf("%s: two copies of %q", what, x)
		}
	}
	sameString("namespace", a.Namespace, b.Namespace)
	sameString("condition reason", a.Status.Conditions[0].Reason, b.Status.Conditions[0].Reason)
	c := slim(t, fullPage("c", "data"))
	if reflect.ValueOf(a.Labels).UnsafePointer() == reflect.ValueOf(c.Labels).UnsafePointer() {
		t.Error("pages with different labels share a map")
	}

	// A page with none of the annotations the server reads keeps none.
	p := fullPage("d", "web")
	p.Annotations = map[string]string{"example.com/note": "x"}
	if s := slim(t, p); s.Annotations != nil {
		t.Errorf("annotations the server does not read are left: %v", s.Annotations)
	}

	// The message of a Ready condition that is not True is what the
	// revalidate API reports as the reason a page is not live: it stays.
	f := fullPage("e", "web")
	f.Status.Conditions[0].Status, f.Status.Conditions[0].Message = metav1.ConditionFalse, "origin answered 503"
	if got := slim(t, f).Status.Conditions; len(got) != 1 || got[0].Message != "origin answered 503" {
		t.Errorf("a False Ready condition slimmed: %+v", got)
	}

	// The revalidate API's wait reads status.lastPurge: whether the CDNs
	// purged the new content, and if not, why.
	purged := fullPage("p", "web")
	purged.Status.LastPurge = pagesv1alpha1.PurgeStatus{Time: &metav1.Time{Time: time.Unix(1_800_000_000, 0)}, CDN: "edge",
		Result: pagesv1alpha1.ReasonPurged, Digest: purged.Status.Digest, Message: "ok"}
	if got := slim(t, purged).Status.LastPurge; got != (pagesv1alpha1.PurgeStatus{Result: pagesv1alpha1.ReasonPurged, Digest: purged.Status.Digest}) {
		t.Errorf("a purged page's lastPurge slimmed to %+v", got)
	}
	failed := fullPage("q", "web")
	failed.Status.LastPurge = pagesv1alpha1.PurgeStatus{CDN: "edge", Result: pagesv1alpha1.ReasonPurgeFailed, Digest: failed.Status.Digest, Message: "CDN edge answered 500"}
	if got := slim(t, failed).Status.LastPurge; got.Result != pagesv1alpha1.ReasonPurgeFailed || got.Digest != failed.Status.Digest || got.Message != "CDN edge answered 500" {
		t.Errorf("a failed purge's lastPurge slimmed to %+v", got)
	}

	// A page without a Ready condition has none; a deleting, suspended
	// page stays both.
	none := fullPage("f", "web")
	none.Status.Conditions = none.Status.Conditions[1:]
	if got := slim(t, none).Status.Conditions; got != nil {
		t.Errorf("a page without Ready keeps conditions %+v", got)
	}
	deleting := fullPage("g", "web")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Unix(1_800_000_000, 0)}
	deleting.Spec.Suspend = new(true)
	if back := slim(t, deleting); back.DeletionTimestamp.IsZero() || !back.Suspended() {
		t.Errorf("deleting, suspended page slimmed: %+v", back)
	}

	// Slimming a slimmed page changes nothing.
	again := slim(t, a.DeepCopy())
	if !equality.Semantic.DeepEqual(again, want) {
		t.Errorf("a slimmed page slimmed again:\n%+v\nwant\n%+v", again, want)
	}

	// Other objects only lose what StripUnread strips.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Finalizers: []string{"keep"}, ManagedFields: []metav1.ManagedFieldsEntry{{}}}}
	if _, err := kube.SlimServerPage(cm); err != nil || cm.ManagedFields != nil || len(cm.Finalizers) != 1 {
		t.Errorf("a ConfigMap through the page transform: %+v, %v", cm.ObjectMeta, err)
	}
}
