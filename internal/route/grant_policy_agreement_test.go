package route_test

import (
	"context"
	"fmt"
	"path/filepath"
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

// TestHostGrantsPolicyAgreement checks that the host grants admission
// policy (config/admission/host-grants.yaml) admits exactly the pages and
// sets route.HostGranted allows, on every case of its table, and that a
// refusal names the annotation and the command that grants the host.
func TestHostGrantsPolicyAgreement(t *testing.T) {
	_, c := testenv.StartT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	objs, err := testenv.Manifests(filepath.Join(testenv.Root(), "config", "admission", "host-grants.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}

	// A namespace per grants value; "" has no annotation at all.
	namespaces := map[string]string{}
	for _, tc := range route.GrantCases {
		if _, ok := namespaces[tc.Grants]; ok {
			continue
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("grants-%d", len(namespaces))}}
		if tc.Grants != "" {
			ns.Annotations = map[string]string{route.HostsAnnotation: tc.Grants}
		}
		if err := c.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
		namespaces[tc.Grants] = ns.Name
	}

	page := func(ns, host string) *pagesv1alpha1.StaticPage {
		return &pagesv1alpha1.StaticPage{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "page"},
			Spec:       pagesv1alpha1.StaticPageSpec{Route: "/", Host: host, Origin: pagesv1alpha1.Origin{URL: "http://origin.example/"}},
		}
	}
	set := func(ns, host string) *pagesv1alpha1.StaticPageSet {
		return &pagesv1alpha1.StaticPageSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "set"},
			Spec:       pagesv1alpha1.StaticPageSetSpec{Route: "/p/{id}", Host: host, Origin: pagesv1alpha1.Origin{URL: "http://origin.example/{id}"}},
		}
	}
	// apiServer dry-runs the creation of obj: the policy's verdict.
	apiServer := func(obj client.Object) verdict {
		err := c.Create(ctx, obj, client.DryRunAll)
		switch {
		case err == nil:
			return verdict{ok: true}
		case apierrors.IsForbidden(err) || apierrors.IsInvalid(err):
			return verdict{why: err.Error()}
		}
		t.Fatalf("dry-run create of %s: %v", client.ObjectKeyFromObject(obj), err)
		return verdict{}
	}

	// The policy takes a moment to be enforced once created.
	probe := namespaces[""]
	deadline := time.Now().Add(time.Minute)
	for apiServer(page(probe, "probe.example")).ok {
		if time.Now().After(deadline) {
			t.Fatal("the host grants policy refuses nothing a minute after it was created")
		}
		time.Sleep(200 * time.Millisecond)
	}

	var disagreements []string
	var allowed, refused int
	for _, tc := range route.GrantCases {
		ns := namespaces[tc.Grants]
		local := route.HostGranted(tc.Grants, tc.Host)
		for kind, obj := range map[string]client.Object{"StaticPage": page(ns, tc.Host), "StaticPageSet": set(ns, tc.Host)} {
			server := apiServer(obj)
			switch {
			case server.ok != local:
				disagreements = append(disagreements, fmt.Sprintf("%s with host %q in a namespace granted %q: the policy %s, HostGranted says %v",
					kind, tc.Host, tc.Grants, server, local))
			case !server.ok:
				refused++
				want := route.GrantCommand(ns, tc.Grants, tc.Host)
				if !strings.Contains(server.why, route.HostsAnnotation) || !strings.Contains(server.why, want) {
					disagreements = append(disagreements, fmt.Sprintf("%s with host %q in a namespace granted %q: the refusal %q does not name %s and the command %q",
						kind, tc.Host, tc.Grants, server.why, route.HostsAnnotation, want))
				}
			default:
				allowed++
			}
		}
	}
	t.Logf("both allow %d objects and refuse %d", allowed, refused)
	if allowed == 0 || refused == 0 {
		t.Errorf("the cases must hold objects both sides allow and both refuse")
	}

	// An update is checked when it changes the host, and only then: an
	// object whose grant was taken back can still be changed and deleted.
	ns := namespaces["shop.example.com"]
	p := page(ns, "shop.example.com")
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	moved := p.DeepCopy()
	moved.Spec.Host = "blog.example.com"
	if err := c.Update(ctx, moved, client.DryRunAll); err == nil || !strings.Contains(err.Error(), route.HostsAnnotation) {
		disagreements = append(disagreements, fmt.Sprintf("moving a page to a host not granted: %v, want a refusal naming %s", err, route.HostsAnnotation))
	}
	nsObj := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: ns}, nsObj); err != nil {
		t.Fatal(err)
	}
	delete(nsObj.Annotations, route.HostsAnnotation)
	if err := c.Update(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	labelled := p.DeepCopy()
	labelled.Labels = map[string]string{"team": "web"}
	if err := c.Update(ctx, labelled); err != nil {
		disagreements = append(disagreements, fmt.Sprintf("labelling a page whose grant was taken back: %v, want it allowed", err))
	}
	if len(disagreements) > 0 {
		t.Errorf("%d disagreements between the policy and HostGranted:\n%s", len(disagreements), strings.Join(disagreements, "\n"))
	}
}
