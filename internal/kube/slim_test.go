package kube

import (
	"reflect"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// fullPage is a StaticPage with every field the server's transform looks
// at, built anew on each call (no string or map shared between calls).
func fullPage(name, team string) *pagesv1alpha1.StaticPage {
	clone := func(s string) string { return string([]byte(s)) }
	return &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: clone("shop"), Name: name, UID: "uid-" + "1", ResourceVersion: "42", Generation: 3,
			Labels: map[string]string{clone("team"): clone(team), clone("app"): clone("shop")},
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
		Spec: pagesv1alpha1.StaticPageSpec{Route: "/" + name, Origin: pagesv1alpha1.Origin{URL: "https://cms.example/" + name}},
		Status: pagesv1alpha1.StaticPageStatus{
			ObservedGeneration: 3, Digest: "sha256:abc", Size: 20480, ContentType: "text/html", OriginURL: "https://cms.example/" + name,
			LastHandledRevalidate: "now",
			Conditions: []metav1.Condition{{Type: clone("Ready"), Status: metav1.ConditionStatus(clone("True")), Reason: clone("Rendered"),
				Message: "rendered", ObservedGeneration: 3}},
		},
	}
}

func TestSlimServerPage(t *testing.T) {
	a, err := SlimServerPage(fullPage("a", "web"))
	if err != nil {
		t.Fatal(err)
	}
	got := a.(*pagesv1alpha1.StaticPage)

	// What the server reads is all there.
	want := fullPage("a", "web")
	want.ManagedFields, want.Finalizers = nil, nil
	want.Spec.Origin = pagesv1alpha1.Origin{}
	want.Status.Conditions[0].Message = ""
	want.Annotations = map[string]string{pagesv1alpha1.RevalidateAnnotation: "now", pagesv1alpha1.RequestedAtAnnotation: "2026-11-28T10:00:00Z"}
	want.Status.Size, want.Status.ContentType, want.Status.OriginURL = 0, "", ""
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("slimmed page:\n%+v\nwant\n%+v", got, want)
	}

	// Pages with the same labels share one map; the same namespace, owner
	// kind and condition words, one copy.
	b, _ := SlimServerPage(fullPage("b", "web"))
	other := b.(*pagesv1alpha1.StaticPage)
	if reflect.ValueOf(got.Labels).UnsafePointer() != reflect.ValueOf(other.Labels).UnsafePointer() {
		t.Error("two pages with the same labels hold two maps")
	}
	sameString := func(what, x, y string) {
		t.Helper()
		if x != y || unsafe.StringData(x) != unsafe.StringData(y) {
			t.Errorf("%s: two copies of %q", what, x)
		}
	}
	sameString("namespace", got.Namespace, other.Namespace)
	sameString("owner kind", got.OwnerReferences[0].Kind, other.OwnerReferences[0].Kind)
	sameString("condition reason", got.Status.Conditions[0].Reason, other.Status.Conditions[0].Reason)

	c, _ := SlimServerPage(fullPage("c", "data"))
	if reflect.ValueOf(got.Labels).UnsafePointer() == reflect.ValueOf(c.(*pagesv1alpha1.StaticPage).Labels).UnsafePointer() {
		t.Error("pages with different labels share a map")
	}

	// A page with only the annotations the server reads keeps its map; one
	// with none of them has none.
	p := fullPage("d", "web")
	p.Annotations = map[string]string{"example.com/note": "x"}
	if _, err := SlimServerPage(p); err != nil || p.Annotations != nil {
		t.Errorf("annotations the server does not read are left: %v", p.Annotations)
	}

	// The message of a condition that is not True is what the revalidate
	// API reports as the reason a page is not live: it stays.
	f := fullPage("e", "web")
	f.Status.Conditions[0].Status, f.Status.Conditions[0].Message = metav1.ConditionFalse, "origin answered 503"
	if _, err := SlimServerPage(f); err != nil || f.Status.Conditions[0].Message != "origin answered 503" {
		t.Errorf("a False condition's message: %q, %v", f.Status.Conditions[0].Message, err)
	}

	// Other objects only lose what StripUnread strips.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Finalizers: []string{"keep"}, ManagedFields: []metav1.ManagedFieldsEntry{{}}}}
	if _, err := SlimServerPage(cm); err != nil || cm.ManagedFields != nil || len(cm.Finalizers) != 1 {
		t.Errorf("a ConfigMap through the page transform: %+v, %v", cm.ObjectMeta, err)
	}
}
