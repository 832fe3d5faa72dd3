package v1alpha1

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestChildName(t *testing.T) {
	cases := []struct{ set, route string }{
		{"products", "/products/42"},
		{"products", "/"},
		{strings.Repeat("s", 250), "/" + strings.Repeat("Long Path ", 100)},
	}
	for _, c := range cases {
		name := ChildName(c.set, c.route)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Errorf("ChildName(%q, %q) = %q: %v", c.set, c.route, name, errs)
		}
		if again := ChildName(c.set, c.route); again != name {
			t.Errorf("ChildName is not stable: %q, then %q", name, again)
		}
	}
	if ChildName("products", "/a") == ChildName("products", "/A") {
		t.Error("two routes that differ in case share a name")
	}
	// 128 bits of hash: 32 hex digits after the last dash.
	name := ChildName("products", "/products/42")
	if hash := name[strings.LastIndexByte(name, '-')+1:]; len(hash) != 32 {
		t.Errorf("ChildName has a hash of %d hex digits (%q), want 32", len(hash), name)
	}
	legacy := LegacyChildName("products", "/products/42")
	if hash := legacy[strings.LastIndexByte(legacy, '-')+1:]; len(hash) != 10 || !strings.HasPrefix(name, legacy) {
		t.Errorf("LegacyChildName = %q, want ChildName's name (%q) with 10 hex digits of hash", legacy, name)
	}
}

func TestIsChildName(t *testing.T) {
	cases := []struct {
		name string
		want bool
	}{
		{ChildName("products", "/products/42"), true},
		{LegacyChildName("products", "/products/42"), true},
		// Another path's name, another set's, and the right shape with
		// a made-up hash.
		{ChildName("products", "/products/43"), false},
		{ChildName("other", "/products/42"), false},
		{"products-products-42-" + strings.Repeat("0", 32), false},
	}
	for _, c := range cases {
		if got := IsChildName("products", "/products/42", c.name); got != c.want {
			t.Errorf("IsChildName(products, /products/42, %q) = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestNewChild(t *testing.T) {
	set := &StaticPageSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "products", UID: "set-uid"}}
	set.Spec.Host = "shop.example"
	set.Spec.Revalidate = &metav1.Duration{Duration: time.Hour}
	set.Spec.RevalidateMode = RevalidateOnRequest

	c := RequestedChild(set, "/products/42")
	if c.Namespace != "shop" || c.Name != ChildName("products", "/products/42") {
		t.Errorf("child %s/%s", c.Namespace, c.Name)
	}
	if c.Labels[SetLabel] != "products" || c.Labels[CreatedByLabel] != CreatedByRequest {
		t.Errorf("labels %v", c.Labels)
	}
	if len(c.OwnerReferences) != 1 {
		t.Fatalf("owner references %v", c.OwnerReferences)
	}
	ref := c.OwnerReferences[0]
	if ref.Kind != "StaticPageSet" || ref.Name != "products" || ref.UID != "set-uid" || ref.Controller == nil || !*ref.Controller || ref.BlockOwnerDeletion != nil {
		t.Errorf("owner reference %+v", ref)
	}
	if c.Spec.Route != "/products/42" || c.Spec.Host != "shop.example" || c.OwnerSet() != "products" ||
		c.RevalidateInterval() != time.Hour || c.Mode() != RevalidateOnRequest || c.Spec.Origin.URL != "" {
		t.Errorf("spec %+v", c.Spec)
	}
	// The child's interval is its own copy.
	set.Spec.Revalidate.Duration = time.Minute
	if c.RevalidateInterval() != time.Hour {
		t.Error("the child shares the set's revalidate interval")
	}
	if p := NewChild(set, "/x", CreatedByPrerender); p.Labels[CreatedByLabel] != CreatedByPrerender {
		t.Errorf("a prerendered child is labelled %v", p.Labels)
	}
}
