package route_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// patternCorpus holds route patterns valid and hostile, each sent to the
// API server as a StaticPageSet's spec.route and to ParsePattern.
func patternCorpus() []string {
	return []string{
		// Valid.
		"/products/{id}", "/{lang}/products/{id}", "/docs/{path...}", "/{a}/{b}/{rest...}",
		"/products/{id}/", "/{_x9}", "/{Id}", "/{id}", "/café/{id}", "/a.b/{id}", "/.well-known/{id}",
		"/{id}/edit", "/p/{a}/q/{b}", "/{x}/{y}/{z}/{w}", "/" + strings.Repeat("a", 400) + "/{id}",
		// No parameter.
		"/products", "/", "/products/", "/products/id}x", "/a{b",
		// A parameter that does not fill its segment.
		"/p-{id}", "/{id}.html", "/{a}{b}", "/{id", "/id}", "/{{id}}", "/x{id}/y", "/{id}x/y",
		"/{id}{rest...}", "/{a}-{b}",
		// Names.
		"/{}", "/{...}", "/{9id}", "/{id-x}", "/{é}", "/{id..}", "/{id....}", "/{id.}", "/{ id}", "/{a.b}",
		// A rest parameter that is not last.
		"/{rest...}/x", "/{rest...}/", "/{rest...}/{id}", "/{a...}/{b...}",
		// Not routes.
		"products/{id}", "{id}", "/products/{id}?x", "/products/{id}#x", "/../{id}", "/./{id}", "/{id}/..",
		"//{id}", "/a//{id}", "/{a b}", "/a b/{id}", "/{id}\t", "/%2e/{id}", "/caf%C3%A9/{id}", "/{id}%20",
		// A parameter named twice: only ParsePattern can tell.
		"/{id}/{id}", "/{id}/{id...}", "/{a}/x/{a}", "/{a}/{b}/{a}/{b}",
	}
}

// duplicateNames are the patterns of the corpus that name a parameter
// twice: the one thing the CRD's rules accept and ParsePattern refuses.
var duplicateNames = map[string]bool{"/{id}/{id}": true, "/{id}/{id...}": true, "/{a}/x/{a}": true, "/{a}/{b}/{a}/{b}": true}

// TestPatternCRDAgreement checks that the CEL rules on a StaticPageSet's
// spec.route accept exactly the patterns route.ParsePattern accepts, but
// those naming a parameter twice, which CEL cannot see and the set's
// controller refuses (Ready=False, InvalidSpec).
func TestPatternCRDAgreement(t *testing.T) {
	_, c := testenv.StartT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "pattern-agreement"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	apiServer := func(pattern string) verdict {
		set := &pagesv1alpha1.StaticPageSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "set"},
			Spec: pagesv1alpha1.StaticPageSetSpec{
				Route:  pattern,
				Origin: pagesv1alpha1.Origin{URL: "http://origin.example/page"},
			},
		}
		err := c.Create(ctx, set, client.DryRunAll)
		switch {
		case err == nil:
			return verdict{ok: true}
		case apierrors.IsInvalid(err):
			return verdict{why: err.Error()}
		}
		t.Fatalf("dry-run create with route %q: %v", pattern, err)
		return verdict{}
	}

	var disagreements []string
	var accepted, refused int
	for _, p := range patternCorpus() {
		server := apiServer(p)
		local := verdict{ok: true}
		if _, err := route.ParsePattern(p); err != nil {
			local = verdict{why: err.Error()}
		}
		switch {
		case duplicateNames[p]:
			if !server.ok || local.ok || !strings.Contains(local.why, "appears twice") {
				disagreements = append(disagreements, fmt.Sprintf("pattern %s names a parameter twice: want the API server to accept it and ParsePattern to refuse it as such; the API server %s, ParsePattern %s", show(p), server, local))
			}
		case server.ok != local.ok:
			disagreements = append(disagreements, fmt.Sprintf("pattern %s: the API server %s, ParsePattern %s", show(p), server, local))
		case server.ok:
			accepted++
		default:
			refused++
		}
	}
	t.Logf("both accept %d patterns and refuse %d; %d name a parameter twice", accepted, refused, len(duplicateNames))
	if accepted == 0 || refused == 0 {
		t.Errorf("the corpus must hold patterns both sides accept and both refuse")
	}
	if len(disagreements) > 0 {
		t.Errorf("%d disagreements with the CRD:\n%s", len(disagreements), strings.Join(disagreements, "\n"))
	}
}
