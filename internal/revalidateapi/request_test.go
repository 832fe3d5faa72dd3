package revalidateapi

import (
	"strings"
	"testing"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

func TestHandled(t *testing.T) {
	page := func(rv, annotation, last string) *pagesv1alpha1.StaticPage {
		p := &pagesv1alpha1.StaticPage{}
		p.ResourceVersion = rv
		p.Annotations = map[string]string{pagesv1alpha1.RevalidateAnnotation: annotation}
		p.Status.LastHandledRevalidate = last
		return p
	}
	cases := []struct {
		name string
		page *pagesv1alpha1.StaticPage
		want bool
	}{
		{"this call handled", page("12", "tok", "tok"), true},
		{"not handled yet", page("12", "tok", "old"), false},
		{"cache behind the write", page("9", "old", "old"), false},
		{"a later call handled instead", page("15", "later", "later"), true},
		{"a later call not handled yet", page("15", "later", "tok-before"), false},
		{"an earlier value, seen before the write", page("10", "earlier", "earlier"), false},
		{"resourceVersions that do not compare", page("x", "later", "later"), false},
		{"annotation removed", page("15", "", ""), false},
	}
	for _, c := range cases {
		if got := handled(c.page, "tok", "10"); got != c.want {
			t.Errorf("%s: handled = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParsePaths(t *testing.T) {
	ok := map[string]string{
		`{"paths": ["/caf%C3%A9"]}`:                           "/café",
		`{"paths": ["/100%25"]}`:                              "/100%",
		`{"paths": ["/a%2Fb"]}`:                               "/a/b",
		`{"paths": ["/x"], "host": "Shop.Example.COM.:8080"}`: "/x",
	}
	for body, route := range ok {
		p, err := parseRequest([]byte(body))
		if err != nil || p.routes[0] != route {
			t.Errorf("%s: %v, %v", body, p, err)
		}
	}
	if p, _ := parseRequest([]byte(`{"paths": ["/x"], "host": "Shop.Example.COM.:8080"}`)); p.host != "shop.example.com:8080" {
		t.Errorf("host normalised to %q", p.host)
	}
	for _, body := range []string{
		`{"paths": ["/100%"]}`,             // not a valid escape
		`{"paths": ["/%2e%2e/admin"]}`,     // decodes to a '..' segment
		`{"paths": ["/a%20b"]}`,            // decodes to whitespace
		`{"paths": ["/a%3Fb"]}`,            // decodes to a query
		`{"paths": ["/"]}]`,                // trailing data
		`{"selector": "a=b", "host": "x"}`, // host without paths
		`{"paths": ["/"], "host": "x:+80"}`,
		`{"paths": ["/"], "host": "x:70000"}`,
		`{"paths": ["/"], "host": "\u212Aey.example"}`,
	} {
		if _, err := parseRequest([]byte(body)); err == nil {
			t.Errorf("%s accepted", body)
		}
	}
}

func TestParseTags(t *testing.T) {
	for _, body := range []string{
		`{"tags": ["sale"]}`,
		`{"tags": ["product-42", "caf%C3%A9"], "namespace": "shop"}`,
		`{"tags": ["isr_page_shop_product-42"]}`, // an identity tag
	} {
		if _, err := parseRequest([]byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
	for _, body := range []string{
		`{"tags": []}`,
		`{"tags": [""]}`,
		`{"tags": ["a b"]}`,
		`{"tags": ["a,b"]}`,
		`{"tags": ["a:b"]}`,
		`{"tags": ["` + strings.Repeat("a", 129) + `"]}`,
		`{"tags": ["sale"], "host": "x"}`, // host only narrows paths
		`{"tags": [` + strings.Repeat(`"t",`, 100) + `"t"]}`,
	} {
		if _, err := parseRequest([]byte(body)); err == nil {
			t.Errorf("%.80s accepted", body)
		}
	}
}
