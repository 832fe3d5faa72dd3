package route_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/isr-operator/isr-operator/internal/testenv"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
)

// routeCorpus holds routes valid and hostile, each sent to the API server
// and to ValidateRoute.
func routeCorpus() []string {
	return []string{
		// Valid.
		"/", "/products/42", "/products/42/", "/café", "/a.b", "/.well-known/security.txt",
		"/...", "/.a/..b", "/100%", "/100%2", "/%zz", "/{id}", "/a~!$&'()*+,;=:@b",
		"/a\\b", "/..;/x", "/a\u00a0b", "/a\u0085b", "/a\u2028b", "/\u00e9\U0001F600",
		"/" + strings.Repeat("é", 2047),          // 2048 runes, 4095 bytes
		"/" + strings.Repeat("\U0001F600", 2047), // 2048 runes, 8189 bytes
		"/" + strings.Repeat("a", 2047),
		// Not absolute.
		"", "products", "products/42", " /a", ".", "..", "\\a", "%2Fa",
		// Dot segments, plain and encoded.
		"/.", "/..", "/./", "/../", "/a/../b", "/a/./b", "/a/..", "/a/.", "/../../etc/passwd",
		"/%2e%2e", "/%2E%2e/x", "/a/%2e", "/a/.%2e/b", "/%252e%252e",
		// Empty segments.
		"//", "//evil.example", "/a//b", "/a//", "///",
		// Query and fragment.
		"/a?b", "/a#b", "/?", "/#", "/a?", "/%3F",
		// Whitespace and control characters.
		"/a\x00b", "/a\tb", "/a\nb", "/a\rb", "/a\fb", "/a\vb", "/a\x7fb", "/a b", "/a ", "/\x1b[31m",
		// Percent-encoded forms of the decoded route.
		"/a%2Fb", "/a%2fb", "/caf%C3%A9", "/a%00", "/a%20b", "/100%25",
		// Too long.
		"/" + strings.Repeat("é", 2048),          // 2049 runes
		"/" + strings.Repeat("\U0001F600", 2048), // 2049 runes
		"/" + strings.Repeat("a", 2048),
	}
}

// hostCorpus holds hosts valid and hostile, each sent to the API server and
// to ValidateHost.
func hostCorpus() []string {
	label63 := strings.Repeat("a", 63)
	name253 := strings.Join([]string{label63, label63, label63, strings.Repeat("b", 61)}, ".")
	return []string{
		// Valid.
		"", "shop.example.com", "localhost", "a", "1.2.3.4", "1.2.3.4:80", "xn--caf-dma.example",
		"xn--bcher-kva.de:8443", "a-b.example", "a--b.example", "0.example", "shop.example.com:1",
		"shop.example.com:65535", "shop.example.com:08080", name253, name253 + ":65535",
		strings.Repeat("a", 64) + ".example",
		// Case and trailing dots: the server folds them, a page must not.
		"Shop.example.com", "SHOP.EXAMPLE.COM", "shop.example.com.", "shop.example.com..", "shop.example.com.:80",
		// Raw Unicode.
		"café.example", "bücher.de", "\u212Aey.example", "ｅxample.com",
		// Ports.
		"shop.example.com:0", "shop.example.com:00000", "shop.example.com:65536", "shop.example.com:99999",
		"shop.example.com:123456", "shop.example.com:", ":80", "shop.example.com:80:80", "shop.example.com:-1",
		"shop.example.com:+80",
		// Labels.
		".", "..", ".example.com", "a..example", "-a.example", "a-.example", "a.-b.example", "a_b.example",
		"*.example.com", "[::1]", "[::1]:80", "::1",
		// Whitespace and control characters.
		"a b", " a", "a\t", "a\n", "a\x00", "a\x7f",
		// Lengths.
		name253 + "b", name253 + ".bbbbbb", // 254 and 260 characters
		name253 + ".bbbbbbb", // 261 characters
		name253 + ":655350",
		strings.Repeat("é", 261),
		"shop.example.com/path", "user@shop.example.com", "shop.example.com?x",
	}
}

// verdict is what one side says of one value.
type verdict struct {
	ok  bool
	why string
}

func (v verdict) String() string {
	if v.ok {
		return "accepts"
	}
	return "refuses (" + v.why + ")"
}

// TestCRDAgreement checks that ValidateRoute and ValidateHost accept
// exactly what the API server accepts for spec.route and spec.host, and
// that where they refuse with a message the CRD has, the API server says
// the same.
func TestCRDAgreement(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	env, cfg, _, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := pagesv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "route-agreement"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	routeMessages, hostMessages := crdMessages(t, env.CRDs)

	// apiServer dry-runs the creation of a page with spec.
	apiServer := func(spec pagesv1alpha1.StaticPageSpec) verdict {
		page := &pagesv1alpha1.StaticPage{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "page"},
			Spec:       spec,
		}
		err := c.Create(ctx, page, client.DryRunAll)
		switch {
		case err == nil:
			return verdict{ok: true}
		case apierrors.IsInvalid(err):
			return verdict{why: err.Error()}
		}
		t.Fatalf("dry-run create with %+v: %v", spec, err)
		return verdict{}
	}
	ours := func(err error) verdict {
		if err == nil {
			return verdict{ok: true}
		}
		return verdict{why: err.Error()}
	}
	const origin = "http://origin.example/page"

	if len(routeMessages) == 0 || len(hostMessages) == 0 {
		t.Fatalf("the CRD has no CEL messages for spec.route (%q) or spec.host (%q)", routeMessages, hostMessages)
	}
	var disagreements []string
	var accepted, refused, worded int
	compare := func(field, value string, server, local verdict, messages []string) {
		if !utf8.ValidString(value) {
			t.Fatalf("corpus %s %q is not UTF-8: the API server cannot receive it as written", field, value)
		}
		switch {
		case server.ok && local.ok:
			accepted++
		case !server.ok && !local.ok:
			refused++
			if slices.Contains(messages, local.why) {
				worded++
			}
		}
		switch {
		case server.ok != local.ok:
			disagreements = append(disagreements, fmt.Sprintf("%s %s: the API server %s, Validate%s %s",
				field, show(value), server, strings.ToUpper(field[:1])+field[1:], local))
		case !local.ok && slices.Contains(messages, local.why) && !strings.Contains(server.why, local.why):
			disagreements = append(disagreements, fmt.Sprintf("%s %s: the API server says %q, not the CRD's message %q",
				field, show(value), server.why, local.why))
		}
	}
	for _, r := range routeCorpus() {
		compare("route", r, apiServer(pagesv1alpha1.StaticPageSpec{Route: r, Origin: pagesv1alpha1.Origin{URL: origin}}),
			ours(route.ValidateRoute(r)), routeMessages)
	}
	for _, h := range hostCorpus() {
		compare("host", h, apiServer(pagesv1alpha1.StaticPageSpec{Route: "/", Host: h, Origin: pagesv1alpha1.Origin{URL: origin}}),
			ours(route.ValidateHost(h)), hostMessages)
	}
	t.Logf("both accept %d values and refuse %d, %d of them with the CRD's own message", accepted, refused, worded)
	if len(disagreements) > 0 {
		t.Errorf("%d disagreements with the CRD:\n%s", len(disagreements), strings.Join(disagreements, "\n"))
	}
}

// show quotes a corpus value, shortened with its length when long.
func show(v string) string {
	if n := utf8.RuneCountInString(v); n > 60 {
		return fmt.Sprintf("%.40q… (%d characters)", v, n)
	}
	return fmt.Sprintf("%q", v)
}

// crdMessages returns the messages of the CEL rules on spec.route and
// spec.host in the installed StaticPage CRD.
func crdMessages(t *testing.T, crds []*apiextensionsv1.CustomResourceDefinition) (routeMessages, hostMessages []string) {
	t.Helper()
	for _, crd := range crds {
		if crd.Spec.Names.Kind != "StaticPage" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Name != pagesv1alpha1.GroupVersion.Version || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			spec := v.Schema.OpenAPIV3Schema.Properties["spec"]
			for _, rule := range spec.Properties["route"].XValidations {
				routeMessages = append(routeMessages, rule.Message)
			}
			for _, rule := range spec.Properties["host"].XValidations {
				hostMessages = append(hostMessages, rule.Message)
			}
			return routeMessages, hostMessages
		}
	}
	t.Fatal(errors.New("no StaticPage CRD installed"))
	return nil, nil
}
