package controllers

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gstruct"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

// testSet is a set in the suite's namespace on its own host, so that specs
// running side by side never conflict, rendering {id} from a real origin
// (a page a request created is deleted if its first render fails).
func testSet(name, pattern string, change func(*pagesv1alpha1.StaticPageSet)) *pagesv1alpha1.StaticPageSet {
	o := newOrigin("page of " + name)
	s := &pagesv1alpha1.StaticPageSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name},
		Spec: pagesv1alpha1.StaticPageSetSpec{
			Route:  pattern,
			Host:   name + ".example",
			Origin: pagesv1alpha1.Origin{URL: o.URL + "/p/{id}"},
		},
	}
	if change != nil {
		change(s)
	}
	return s
}

// createTestSet creates the set and, when the spec ends, deletes it and its
// children: envtest runs no garbage collector.
func createTestSet(s *pagesv1alpha1.StaticPageSet) {
	ctx := context.Background()
	ExpectWithOffset(1, k8sClient.Create(ctx, s)).To(Succeed())
	DeferCleanup(func() {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, s))).To(Succeed())
		Expect(k8sClient.DeleteAllOf(ctx, &pagesv1alpha1.StaticPage{}, client.InNamespace(s.Namespace),
			client.MatchingLabels{pagesv1alpha1.SetLabel: s.Name})).To(Succeed())
	})
}

func fetchSet(g Gomega, s *pagesv1alpha1.StaticPageSet) *pagesv1alpha1.StaticPageSet {
	out := &pagesv1alpha1.StaticPageSet{}
	g.ExpectWithOffset(1, k8sClient.Get(context.Background(), client.ObjectKeyFromObject(s), out)).To(Succeed())
	return out
}

// updateSet changes the set's spec or metadata with change, retrying on
// conflicts.
func updateSet(s *pagesv1alpha1.StaticPageSet, change func(*pagesv1alpha1.StaticPageSet)) {
	EventuallyWithOffset(1, func(g Gomega) {
		got := fetchSet(g, s)
		change(got)
		g.Expect(k8sClient.Update(context.Background(), got)).To(Succeed())
	}).Should(Succeed())
}

// poke changes an annotation of the set, which makes its controller look
// at it now (tests use it after moving a fake clock).
func poke(s *pagesv1alpha1.StaticPageSet) {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{"test.isr-operator.io/poke":%q}}}`, time.Now().Format(time.RFC3339Nano))
	ExpectWithOffset(1, k8sClient.Patch(context.Background(), s.DeepCopy(), client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}

func setCondition(s *pagesv1alpha1.StaticPageSet, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(s.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// childrenOf lists the pages labelled as the set's, by route.
func childrenOf(g Gomega, s *pagesv1alpha1.StaticPageSet) map[string]pagesv1alpha1.StaticPage {
	list := &pagesv1alpha1.StaticPageList{}
	g.ExpectWithOffset(1, k8sClient.List(context.Background(), list, client.InNamespace(s.Namespace),
		client.MatchingLabels{pagesv1alpha1.SetLabel: s.Name})).To(Succeed())
	out := map[string]pagesv1alpha1.StaticPage{}
	for _, p := range list.Items {
		if p.DeletionTimestamp.IsZero() {
			out[p.Spec.Route] = p
		}
	}
	return out
}

func routesOf(g Gomega, s *pagesv1alpha1.StaticPageSet) []string {
	var out []string
	for r := range childrenOf(g, s) {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// createRequestChild creates the page a server creates for a visitor's request
// of path: labelled created-by=request, owned by the set without
// blockOwnerDeletion.
func createRequestChild(s *pagesv1alpha1.StaticPageSet, path string, change func(*pagesv1alpha1.StaticPage)) *pagesv1alpha1.StaticPage {
	c := pagesv1alpha1.RequestedChild(fetchSet(Default, s), path)
	if change != nil {
		change(c)
	}
	ExpectWithOffset(1, k8sClient.Create(context.Background(), c)).To(Succeed())
	return c
}

// setEvents lists the set's Events as "type reason: note".
func setEvents(g Gomega, s *pagesv1alpha1.StaticPageSet) []string {
	list := &eventsv1.EventList{}
	g.ExpectWithOffset(1, k8sClient.List(context.Background(), list, client.InNamespace(s.Namespace))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "StaticPageSet" && e.Regarding.Name == s.Name {
			out = append(out, e.Type+" "+e.Reason+": "+e.Note)
		}
	}
	return out
}

// sitemap is an XML sitemap listing locs.
func sitemap(locs ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	for _, l := range locs {
		fmt.Fprintf(&b, "<url><loc>%s</loc></url>", l)
	}
	b.WriteString("</urlset>")
	return b.String()
}

// sitemapOrigin serves sitemap(locs...) as application/xml.
func sitemapOrigin(locs ...string) *origin {
	o := newOrigin(sitemap(locs...))
	o.SetContentType("application/xml")
	return o
}

var _ = Describe("StaticPageSet controller", func() {
	ctx := context.Background()

	BeforeEach(func() {
		SetDefaultEventuallyTimeout(20 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
		SetDefaultConsistentlyDuration(2 * time.Second)
	})

	It("prerenders the listed paths and the sitemap's matching URLs into owned, labelled children", func() {
		name := uniqueName("prerender")
		host := name + ".example"
		sm := sitemapOrigin(
			"https://"+host+"/products/s1",
			"https://"+host+"/products/s2?utm=x",
			"https://other.example/products/s3", // another host
			"https://"+host+"/about",            // outside the pattern
			"https://"+host+"/products/s4/reviews",
			"https://"+host+"/products/1", // listed too: one page
		)
		s := testSet(name, "/products/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Revalidate = &metav1.Duration{Duration: 10 * time.Minute}
			s.Spec.RevalidateMode = pagesv1alpha1.RevalidateOnRequest
			s.Spec.Prerender = pagesv1alpha1.Prerender{
				Paths:   []string{"/products/1", "/products/2", "/blog/x", "/products/2/extra"},
				Sitemap: sm.URL + "/sitemap.xml",
			}
		})
		createTestSet(s)

		Eventually(func(g Gomega) {
			g.Expect(routesOf(g, s)).To(Equal([]string{"/products/1", "/products/2", "/products/s1", "/products/s2"}))
		}).Should(Succeed())
		got := fetchSet(Default, s)
		for route, c := range childrenOf(Default, s) {
			By("checking the child of " + route)
			Expect(c.Name).To(Equal(pagesv1alpha1.ChildName(s.Name, route)))
			Expect(c.Labels).To(HaveKeyWithValue(pagesv1alpha1.SetLabel, s.Name))
			Expect(c.Labels).To(HaveKeyWithValue(pagesv1alpha1.CreatedByLabel, pagesv1alpha1.CreatedByPrerender))
			// envtest has no garbage collector: that the set's deletion
			// takes its children is proven by their controller reference.
			ref := metav1.GetControllerOf(&c)
			Expect(ref).NotTo(BeNil())
			Expect(ref.APIVersion).To(Equal("pages.isr-operator.io/v1alpha1"))
			Expect(ref.Kind).To(Equal("StaticPageSet"))
			Expect(ref.Name).To(Equal(s.Name))
			Expect(ref.UID).To(Equal(got.UID))
			Expect(c.Spec.Set).To(Equal(pagesv1alpha1.SetReference{Name: s.Name}))
			Expect(c.Spec.Origin).To(Equal(pagesv1alpha1.Origin{}))
			Expect(c.Spec.Host).To(Equal(host))
			Expect(c.Spec.Revalidate).To(Equal(&metav1.Duration{Duration: 10 * time.Minute}))
			Expect(c.Spec.RevalidateMode).To(Equal(pagesv1alpha1.RevalidateOnRequest))
		}

		Eventually(func(g Gomega) {
			got := fetchSet(g, s)
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(got.Status.Pages).To(Equal(ptr.To[int32](4)))
			g.Expect(got.Status.ReadyPages).To(Equal(ptr.To[int32](4)), "every page rendered")
			g.Expect(setCondition(got, pagesv1alpha1.ReadyCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionTrue), "Reason": Equal(pagesv1alpha1.ReasonServing)}))
			g.Expect(setCondition(got, pagesv1alpha1.PrerenderedCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionTrue), "Reason": Equal(pagesv1alpha1.ReasonPrerendered),
				"Message": ContainSubstring("2 listed paths do not match")}))
			g.Expect(setCondition(got, pagesv1alpha1.FullCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionFalse), "Reason": Equal(pagesv1alpha1.ReasonBelowMaxPages)}))
			g.Expect(setEvents(g, s)).To(ContainElement(SatisfyAll(
				HavePrefix("Warning "+pagesv1alpha1.EventPathsSkipped), ContainSubstring("/blog/x"), ContainSubstring("/products/2/extra"))))
		}).Should(Succeed())
		Expect(sm.Count()).To(Equal(1), "the sitemap is fetched once per interval, not per reconcile")
	})

	It("removes a prerendered page whose path leaves the list, and keeps pages created by requests", func() {
		s := testSet(uniqueName("prune"), "/items/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Prerender.Paths = []string{"/items/1", "/items/2"}
		})
		createTestSet(s)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/items/1", "/items/2"}))
		requested := createRequestChild(s, "/items/9", nil)

		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.Prerender.Paths = []string{"/items/1"} })
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/items/1", "/items/9"}))
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/items/1", "/items/9"}))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(requested), &pagesv1alpha1.StaticPage{})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(fetchSet(g, s).Status.Pages).To(Equal(ptr.To[int32](2)))
			g.Expect(setEvents(g, s)).To(ContainElement(SatisfyAll(
				HavePrefix("Normal "+pagesv1alpha1.EventPagesRemoved), ContainSubstring("/items/2"))))
		}).Should(Succeed())

		By("making a page a request created for a newly listed path a prerendered one")
		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.Prerender.Paths = []string{"/items/1", "/items/9"} })
		Eventually(func(g Gomega) string {
			return childrenOf(g, s)["/items/9"].Labels[pagesv1alpha1.CreatedByLabel]
		}).Should(Equal(pagesv1alpha1.CreatedByPrerender))
	})

	It("gives no page to a path a StaticPage of its own serves, and one once that page goes", func() {
		o := newOrigin("explicit")
		s := testSet(uniqueName("explicit"), "/items/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Prerender.Paths = []string{"/items/7", "/items/8"}
		})
		explicit := newPage(uniqueName("explicit-page"), "/items/7", o.URL, 0)
		explicit.Spec.Host = s.Spec.Host
		create(explicit)
		// The same route on another host takes nothing from the set.
		elsewhere := newPage(uniqueName("elsewhere"), "/items/8", o.URL, 0)
		elsewhere.Spec.Host = "elsewhere.example"
		create(elsewhere)
		createTestSet(s)

		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/items/8"}))
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/items/8"}))
		Eventually(func(g Gomega) string {
			return setCondition(fetchSet(g, s), pagesv1alpha1.PrerenderedCondition).Message
		}).Should(ContainSubstring("1 paths are served by StaticPages of their own"))

		Expect(k8sClient.Delete(ctx, explicit)).To(Succeed())
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/items/7", "/items/8"}))
	})

	It("reports a prerender path whose page's name another StaticPage has taken, until it is free", func() {
		o := newOrigin("squatter")
		s := testSet(uniqueName("taken"), "/taken/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Prerender.Paths = []string{"/taken/1", "/taken/2"}
		})
		squatter := newPage(pagesv1alpha1.ChildName(s.Name, "/taken/1"), "/squatted/"+s.Name, o.URL, 0)
		squatter.Spec.Host = s.Spec.Host
		create(squatter)
		createTestSet(s)

		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/taken/2"}))
		Eventually(func(g Gomega) {
			c := setCondition(fetchSet(g, s), pagesv1alpha1.NameCollisionCondition)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonNameTaken))
			g.Expect(c.Message).To(ContainSubstring("/taken/1"))
		}).Should(Succeed())
		Eventually(func(g Gomega) []string { return setEvents(g, s) }).Should(ContainElement(SatisfyAll(
			HavePrefix("Warning "+pagesv1alpha1.ReasonNameTaken), ContainSubstring("/taken/1"))))

		By("giving the path its page once the name is free, and dropping the condition")
		Expect(k8sClient.Delete(ctx, squatter)).To(Succeed())
		// The set looks again within collisionRecheck; a change to it makes
		// it look now.
		Eventually(func() error {
			cur := fetchSet(Default, s)
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations["test.isr-operator.io/poke"] = "1"
			return k8sClient.Update(ctx, cur)
		}).Should(Succeed())
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/taken/1", "/taken/2"}))
		Eventually(func(g Gomega) {
			g.Expect(meta.FindStatusCondition(fetchSet(g, s).Status.Conditions, pagesv1alpha1.NameCollisionCondition)).To(BeNil())
		}).Should(Succeed())
	})

	It("deletes a page a request created under another path's name, so that path gets its page; leaves one it did not create unrendered", func() {
		s := testSet(uniqueName("misnamed"), "/mis/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Prerender.Paths = []string{"/mis/1"}
		})
		createTestSet(s)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/mis/1"}))

		By("a server-made page for /mis/2 squatting /mis/3's name, as a compromised server could create it")
		squatter := createRequestChild(s, "/mis/2", func(c *pagesv1alpha1.StaticPage) {
			c.Name = pagesv1alpha1.ChildName(s.Name, "/mis/3")
		})
		Eventually(gone(squatter)).Should(Succeed())
		Eventually(func(g Gomega) []string { return setEvents(g, s) }).Should(ContainElement(SatisfyAll(
			HavePrefix("Warning "+pagesv1alpha1.EventMisnamedPagesRemoved), ContainSubstring(squatter.Name+" (/mis/2)"))))
		Expect(routesOf(Default, s)).To(Equal([]string{"/mis/1"}))

		By("/mis/3 then having its page under its own name")
		real := createRequestChild(s, "/mis/3", nil)
		Eventually(func(g Gomega) {
			c := ready(fetch(g, real))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonRendered))
		}).Should(Succeed())

		By("a misnamed page the set does not control (a user's): kept, never rendered")
		other := newChild(s, "/mis/4", pagesv1alpha1.CreatedByRequest)
		other.Name = pagesv1alpha1.ChildName(s.Name, "/mis/5")
		create(other)
		Eventually(func(g Gomega) {
			c := ready(fetch(g, other))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonOutsideSet))
			g.Expect(c.Message).To(ContainSubstring(pagesv1alpha1.ChildName(s.Name, "/mis/4")))
		}).Should(Succeed())
		Consistently(func(g Gomega) string { return ready(fetch(g, other)).Reason }).Should(Equal(pagesv1alpha1.ReasonOutsideSet))
	})

	It("constrains its parameters: refuses unknown names at apply, a bad pattern with InvalidSpec, and skips prerender paths it refuses", func() {
		By("refusing at apply a constraint on a parameter the route does not define")
		bad := testSet(uniqueName("constrained"), "/c/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Parameters = []pagesv1alpha1.ParameterConstraint{{Name: "sku", Pattern: "[0-9]+"}}
		})
		err := k8sClient.Create(ctx, bad)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("parameters may name only parameters that route defines"))

		By("reporting a pattern that does not compile as InvalidSpec, and creating nothing")
		s := testSet(uniqueName("constrained"), "/c/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Parameters = []pagesv1alpha1.ParameterConstraint{{Name: "id", Pattern: "[1-9"}}
			s.Spec.Prerender.Paths = []string{"/c/42", "/c/042", "/c/x"}
		})
		createTestSet(s)
		Eventually(func(g Gomega) {
			got := fetchSet(g, s)
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(setCondition(got, pagesv1alpha1.ReadyCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionFalse), "Reason": Equal(pagesv1alpha1.ReasonInvalidSpec),
				"Message": SatisfyAll(ContainSubstring("spec.parameters"), ContainSubstring(`"id"`), ContainSubstring("missing closing ]"))}))
		}).Should(Succeed())
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(BeEmpty())

		By("prerendering only the paths whose values the fixed pattern accepts")
		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Parameters[0].Pattern = "[1-9][0-9]{0,9}"
		})
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/c/42"}))
		Eventually(func(g Gomega) []string { return setEvents(g, s) }).Should(ContainElement(SatisfyAll(
			ContainSubstring(pagesv1alpha1.EventPathsSkipped), ContainSubstring("/c/042"), ContainSubstring("/c/x"))))
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/c/42"}))
	})

	It("refuses a pattern that names a parameter twice with InvalidSpec, and creates nothing", func() {
		s := testSet(uniqueName("invalid"), "/x/{id}/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Prerender.Paths = []string{"/x/1/1"}
		})
		// The API server accepts it: only the controller can tell.
		createTestSet(s)
		Eventually(func(g Gomega) {
			got := fetchSet(g, s)
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(setCondition(got, pagesv1alpha1.ReadyCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionFalse), "Reason": Equal(pagesv1alpha1.ReasonInvalidSpec),
				"Message": ContainSubstring("parameter {id} appears twice")}))
			g.Expect(setEvents(g, s)).To(ContainElement(HavePrefix("Warning " + pagesv1alpha1.ReasonInvalidSpec)))
		}).Should(Succeed())
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(BeEmpty())

		By("serving once the pattern is fixed")
		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Route = "/x/{id}/{n}"
		})
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/x/1/1"}))
		Eventually(func(g Gomega) string {
			return setCondition(fetchSet(g, s), pagesv1alpha1.ReadyCondition).Reason
		}).Should(Equal(pagesv1alpha1.ReasonServing))
	})

	It("lets the older of two overlapping sets on a host serve, and the other once it goes", func() {
		host := uniqueName("conflict") + ".example"
		older := testSet(uniqueName("a-conflict"), "/c/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Host = host
			s.Spec.Prerender.Paths = []string{"/c/1"}
		})
		createTestSet(older)
		Eventually(func(g Gomega) []string { return routesOf(g, older) }).Should(Equal([]string{"/c/1"}))
		// Its name sorts after the older one's too, for when both are
		// created within the same second.
		later := testSet(uniqueName("b-conflict"), "/c/{slug}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Host = host
			s.Spec.Origin.URL = strings.Replace(s.Spec.Origin.URL, "{id}", "{slug}", 1)
			s.Spec.Prerender.Paths = []string{"/c/2"}
		})
		createTestSet(later)

		Eventually(func(g Gomega) {
			g.Expect(setCondition(fetchSet(g, later), pagesv1alpha1.ReadyCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionFalse), "Reason": Equal(pagesv1alpha1.ReasonConflict),
				"Message": ContainSubstring(testNamespace + "/" + older.Name)}))
			g.Expect(setEvents(g, later)).To(ContainElement(HavePrefix("Warning " + pagesv1alpha1.ReasonConflict)))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(routesOf(g, later)).To(BeEmpty())
			g.Expect(setCondition(fetchSet(g, older), pagesv1alpha1.ReadyCondition).Status).To(Equal(metav1.ConditionTrue))
		}).Should(Succeed())

		Expect(k8sClient.Delete(ctx, older)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(setCondition(fetchSet(g, later), pagesv1alpha1.ReadyCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionTrue), "Reason": Equal(pagesv1alpha1.ReasonServing)}))
			g.Expect(routesOf(g, later)).To(Equal([]string{"/c/2"}))
		}).Should(Succeed())
	})

	It("keeps a non-overlapping pattern on the same host, and the same pattern on another host, out of conflict", func() {
		host := uniqueName("noconflict") + ".example"
		a := testSet(uniqueName("a-noconflict"), "/n/{id}", func(s *pagesv1alpha1.StaticPageSet) { s.Spec.Host = host })
		b := testSet(uniqueName("b-noconflict"), "/n/{id}/more", func(s *pagesv1alpha1.StaticPageSet) { s.Spec.Host = host })
		c := testSet(uniqueName("c-noconflict"), "/n/{id}", nil)
		createTestSet(a)
		createTestSet(b)
		createTestSet(c)
		for _, s := range []*pagesv1alpha1.StaticPageSet{a, b, c} {
			Eventually(func(g Gomega) string {
				return setCondition(fetchSet(g, s), pagesv1alpha1.ReadyCondition).Reason
			}).Should(Equal(pagesv1alpha1.ReasonServing))
		}
	})

	It("never holds more than maxPages: prerenders up to it, reports Full, and evicts pages created by requests beyond it", func() {
		s := testSet(uniqueName("full"), "/m/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.MaxPages = 3
			s.Spec.Prerender.Paths = []string{"/m/1", "/m/2", "/m/3", "/m/4"}
		})
		createTestSet(s)
		Eventually(func(g Gomega) {
			g.Expect(routesOf(g, s)).To(Equal([]string{"/m/1", "/m/2", "/m/3"}))
			got := fetchSet(g, s)
			g.Expect(setCondition(got, pagesv1alpha1.FullCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionTrue), "Reason": Equal(pagesv1alpha1.ReasonMaxPages)}))
			g.Expect(setCondition(got, pagesv1alpha1.PrerenderedCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionFalse), "Reason": Equal(pagesv1alpha1.ReasonMaxPages)}))
			g.Expect(setEvents(g, s)).To(ContainElement(HavePrefix("Warning " + pagesv1alpha1.ReasonMaxPages)))
		}).Should(Succeed())

		By("deleting what a misbehaving server created beyond maxPages, never a prerendered page")
		createRequestChild(s, "/m/10", nil)
		createRequestChild(s, "/m/11", nil)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/m/1", "/m/2", "/m/3"}))
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/m/1", "/m/2", "/m/3"}))
		Eventually(func(g Gomega) []string { return setEvents(g, s) }).Should(ContainElement(HavePrefix("Warning " + pagesv1alpha1.EventPagesEvicted)))

		By("keeping pages created by requests up to a lowered maxPages")
		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.MaxPages = 4
			s.Spec.Prerender.Paths = []string{"/m/1"}
		})
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/m/1"}))
		Eventually(func(g Gomega) string {
			return setCondition(fetchSet(g, s), pagesv1alpha1.FullCondition).Reason
		}).Should(Equal(pagesv1alpha1.ReasonBelowMaxPages))
		createRequestChild(s, "/m/20", nil)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(HaveLen(2))
		createRequestChild(s, "/m/21", nil)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(HaveLen(3))
		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.MaxPages = 2 })
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(ConsistOf("/m/1", Or(Equal("/m/20"), Equal("/m/21"))))
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(HaveLen(2))
	})

	It("makes room in a full set by forgetting the paths its origin does not have", func() {
		o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/p/x") {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte("a product"))
		}))
		DeferCleanup(o.Close)
		s := testSet(uniqueName("room"), "/r/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.MaxPages = 3
			s.Spec.Origin.URL = o.URL + "/p/{id}"
		})
		createTestSet(s)
		createRequestChild(s, "/r/1", nil)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/r/1"}))
		By("filling it with paths the origin does not have")
		createRequestChild(s, "/r/x1", nil)
		createRequestChild(s, "/r/x2", nil)
		Eventually(func(g Gomega) []string { return setEvents(g, s) }).Should(ContainElement(HavePrefix("Warning " + pagesv1alpha1.EventPagesEvicted)))
		Eventually(func(g Gomega) {
			routes := routesOf(g, s)
			g.Expect(routes).To(ContainElement("/r/1"), "the real page stays")
			g.Expect(len(routes)).To(BeNumerically("<", 3), "once full, the remembered-absent paths go")
			g.Expect(setCondition(fetchSet(g, s), pagesv1alpha1.FullCondition).Reason).To(Equal(pagesv1alpha1.ReasonBelowMaxPages))
		}).Should(Succeed())
		By("leaving room for a real new path")
		createRequestChild(s, "/r/2", nil)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(ContainElements("/r/1", "/r/2"))
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).WithTimeout(time.Second).Should(ContainElements("/r/1", "/r/2"))
	})

	It("defaults expireAfter to 7 days", func() {
		s := testSet(uniqueName("ttl"), "/t/{id}", nil)
		createTestSet(s)
		Expect(fetchSet(Default, s).Spec.ExpireAfter).To(Equal(&metav1.Duration{Duration: 7 * 24 * time.Hour}))
	})

	It("evicts the least recently requested pages of a set full of them to make room for new prerender paths", func() {
		// Last requested after their creation: a requested-at up to a
		// minute ahead of the manager's clock counts.
		now := time.Now().UTC()
		requestedIn := func(d time.Duration) func(*pagesv1alpha1.StaticPage) {
			return func(c *pagesv1alpha1.StaticPage) {
				c.Annotations = map[string]string{pagesv1alpha1.RequestedAtAnnotation: now.Add(d).Format(time.RFC3339)}
			}
		}
		s := testSet(uniqueName("lru"), "/l/{id}", func(s *pagesv1alpha1.StaticPageSet) { s.Spec.MaxPages = 3 })
		createTestSet(s)
		createRequestChild(s, "/l/recent", requestedIn(40*time.Second))
		createRequestChild(s, "/l/old", nil)
		createRequestChild(s, "/l/middle", requestedIn(20*time.Second))
		Eventually(func(g Gomega) *int32 { return fetchSet(g, s).Status.Pages }).Should(Equal(ptr.To[int32](3)))
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/l/middle", "/l/old", "/l/recent"}))

		By("giving a new prerender path the place of the least recently requested page")
		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.Prerender.Paths = []string{"/l/new"} })
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/l/middle", "/l/new", "/l/recent"}))
		created := &pagesv1alpha1.StaticPage{}
		Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: s.Namespace, Name: pagesv1alpha1.ChildName(s.Name, "/l/new")}, created)).To(Succeed())
		Expect(createdBy(created)).To(Equal(pagesv1alpha1.CreatedByPrerender))
		Eventually(func(g Gomega) []string { return setEvents(g, s) }).Should(ContainElement(SatisfyAll(
			HavePrefix("Warning "+pagesv1alpha1.EventPagesEvicted), ContainSubstring("/l/old"))))

		By("then the next least recently requested, for two more")
		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.Prerender.Paths = []string{"/l/new", "/l/a", "/l/b"} })
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/l/a", "/l/b", "/l/new"}))
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/l/a", "/l/b", "/l/new"}))
	})

	It("keeps its pages under maxBytes: evicts pages created by requests least recently requested first, never prerendered ones", func() {
		// Bodies that do not compress: each page's stored bytes are its
		// body's length, the same for every path and every render.
		const pageBytes = 300 << 10
		o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seed := sha256.Sum256([]byte(r.URL.Path))
			body := make([]byte, pageBytes)
			_, _ = rand.NewChaCha8(seed).Read(body)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(body)
		}))
		DeferCleanup(o.Close)
		now := time.Now().UTC()
		requestedIn := func(d time.Duration) func(*pagesv1alpha1.StaticPage) {
			return func(c *pagesv1alpha1.StaticPage) {
				c.Annotations = map[string]string{pagesv1alpha1.RequestedAtAnnotation: now.Add(d).Format(time.RFC3339)}
			}
		}
		s := testSet(uniqueName("bytes"), "/b/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Origin.URL = o.URL + "/p/{id}"
			s.Spec.MaxBytes = new(resource.MustParse("1Mi"))
			s.Spec.Prerender.Paths = []string{"/b/p1"}
		})
		createTestSet(s)
		Eventually(func(g Gomega) {
			g.Expect(childrenOf(g, s)["/b/p1"].Status.StoredBytes).To(BeEquivalentTo(pageBytes))
			g.Expect(fetchSet(g, s).Status.StoredBytes).To(Equal(ptr.To[int64](pageBytes)))
		}).Should(Succeed())

		By("evicting the least recently requested page once the pages take more than 1Mi")
		createRequestChild(s, "/b/recent", requestedIn(40*time.Second))
		createRequestChild(s, "/b/old", nil)
		createRequestChild(s, "/b/middle", requestedIn(20*time.Second))
		Eventually(func(g Gomega) {
			g.Expect(routesOf(g, s)).To(Equal([]string{"/b/middle", "/b/p1", "/b/recent"}))
			got := fetchSet(g, s)
			g.Expect(got.Status.StoredBytes).To(Equal(ptr.To[int64](3 * pageBytes)))
			g.Expect(got.Status.Conditions).NotTo(ContainElement(HaveField("Type", pagesv1alpha1.MaxBytesExceededCondition)))
			g.Expect(setEvents(g, s)).To(ContainElement(SatisfyAll(
				HavePrefix("Warning "+pagesv1alpha1.EventPagesEvicted), ContainSubstring("/b/old"), ContainSubstring("maxBytes (1Mi)"))))
		}).Should(Succeed())
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/b/middle", "/b/p1", "/b/recent"}))

		By("keeping prerendered pages that alone take more than maxBytes, and saying so")
		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Prerender.Paths = []string{"/b/p1", "/b/p2", "/b/p3", "/b/p4"}
		})
		Eventually(func(g Gomega) {
			g.Expect(routesOf(g, s)).To(Equal([]string{"/b/p1", "/b/p2", "/b/p3", "/b/p4"}))
			got := fetchSet(g, s)
			g.Expect(got.Status.StoredBytes).To(Equal(ptr.To[int64](4 * pageBytes)))
			g.Expect(setCondition(got, pagesv1alpha1.MaxBytesExceededCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionTrue), "Reason": Equal(pagesv1alpha1.ReasonPrerenderedOverMaxBytes)}))
			g.Expect(setEvents(g, s)).To(ContainElement(HavePrefix("Warning " + pagesv1alpha1.ReasonPrerenderedOverMaxBytes)))
		}).Should(Succeed())
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/b/p1", "/b/p2", "/b/p3", "/b/p4"}))

		By("removing the condition once they fit again")
		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.MaxBytes = new(resource.MustParse("2Mi")) })
		Eventually(func(g Gomega) []metav1.Condition { return fetchSet(g, s).Status.Conditions }).
			ShouldNot(ContainElement(HaveField("Type", pagesv1alpha1.MaxBytesExceededCondition)))
	})

	It("defaults maxBytes to 256Mi and refuses less than 1Mi at apply", func() {
		s := testSet(uniqueName("maxbytes"), "/mb/{id}", nil)
		createTestSet(s)
		Expect(fetchSet(Default, s).Spec.MaxBytes.String()).To(Equal("256Mi"))
		for _, q := range []string{"1048575", "1023Ki", "0.5Mi"} {
			bad := testSet(uniqueName("maxbytes"), "/mb/{id}", func(s *pagesv1alpha1.StaticPageSet) {
				s.Spec.MaxBytes = new(resource.MustParse(q))
			})
			err := k8sClient.Create(ctx, bad)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "maxBytes %s: %v", q, err)
			Expect(err.Error()).To(ContainSubstring("maxBytes must be at least 1Mi"))
		}
		ok := testSet(uniqueName("maxbytes"), "/mb/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.MaxBytes = new(resource.MustParse("1048576"))
		})
		createTestSet(ok)
	})

	It("keeps the children's revalidate settings and host equal to the set's", func() {
		s := testSet(uniqueName("sync"), "/r/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Revalidate = &metav1.Duration{Duration: time.Minute}
			s.Spec.Prerender.Paths = []string{"/r/1"}
		})
		createTestSet(s)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/r/1"}))
		createRequestChild(s, "/r/2", func(c *pagesv1alpha1.StaticPage) {
			c.Spec.Revalidate = &metav1.Duration{Duration: time.Hour}
			c.Spec.RevalidateMode = pagesv1alpha1.RevalidateOnRequest
			c.Spec.Host = "wrong.example"
		})
		inSync := func(revalidate *metav1.Duration, mode pagesv1alpha1.RevalidateMode, host string) func(g Gomega) {
			return func(g Gomega) {
				children := childrenOf(g, s)
				g.Expect(children).To(HaveLen(2))
				for _, c := range children {
					g.Expect(c.Spec.Revalidate).To(Equal(revalidate), c.Spec.Route)
					g.Expect(c.Spec.RevalidateMode).To(Equal(mode), c.Spec.Route)
					g.Expect(c.Spec.Host).To(Equal(host), c.Spec.Route)
				}
			}
		}
		Eventually(inSync(&metav1.Duration{Duration: time.Minute}, pagesv1alpha1.RevalidateInterval, s.Spec.Host)).Should(Succeed())

		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Revalidate = &metav1.Duration{Duration: 5 * time.Minute}
			s.Spec.RevalidateMode = pagesv1alpha1.RevalidateOnRequest
			s.Spec.Host = "moved-" + s.Spec.Host
		})
		Eventually(inSync(&metav1.Duration{Duration: 5 * time.Minute}, pagesv1alpha1.RevalidateOnRequest, "moved-"+s.Spec.Host)).Should(Succeed())

		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.Revalidate = nil })
		Eventually(inSync(nil, pagesv1alpha1.RevalidateOnRequest, "moved-"+s.Spec.Host)).Should(Succeed())
	})

	It("keeps the sitemap's pages while the sitemap fails, and prunes them once it is read again", func() {
		name := uniqueName("smfail")
		host := name + ".example"
		sm := sitemapOrigin("https://"+host+"/s/1", "https://"+host+"/s/2")
		s := testSet(name, "/s/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			// The sitemap is read again at each revalidate interval.
			s.Spec.Revalidate = &metav1.Duration{Duration: time.Second}
			s.Spec.Prerender.Sitemap = sm.URL + "/sitemap.xml"
		})
		createTestSet(s)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/s/1", "/s/2"}))

		// A sitemap moved to where nothing answers: its paths are unknown
		// (none were ever read from there), yet no page goes.
		sm.Set(http.StatusInternalServerError, "down")
		updateSet(s, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.Prerender.Sitemap = sm.URL + "/moved.xml" })
		Eventually(func(g Gomega) {
			g.Expect(setCondition(fetchSet(g, s), pagesv1alpha1.PrerenderedCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionFalse), "Reason": Equal(pagesv1alpha1.ReasonSitemapError),
				"Message": ContainSubstring("500")}))
			g.Expect(setEvents(g, s)).To(ContainElement(HavePrefix("Warning " + pagesv1alpha1.ReasonSitemapError)))
		}).Should(Succeed())
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/s/1", "/s/2"}))
		hits := sm.Count()
		Eventually(sm.Count).Should(BeNumerically(">", hits), "retried")

		sm.Set(http.StatusOK, sitemap("https://"+host+"/s/2", "https://"+host+"/s/3"))
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/s/2", "/s/3"}))
		Eventually(func(g Gomega) string {
			return setCondition(fetchSet(g, s), pagesv1alpha1.PrerenderedCondition).Reason
		}).Should(Equal(pagesv1alpha1.ReasonPrerendered))
	})

	It("refuses a sitemap on a loopback address the origin guard does not allow", func() {
		// Something really answers there with a valid sitemap: only the
		// guard stands between the manager and it. The suite allows
		// 127.0.0.1 (--allow-origin), not the rest of 127.0.0.0/8.
		var hits atomic.Int32
		l, err := net.Listen("tcp", "127.0.0.2:0")
		Expect(err).NotTo(HaveOccurred())
		name := uniqueName("ssrf")
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			hits.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			_, _ = w.Write([]byte(sitemap("https://" + name + ".example/s/secret")))
		}))
		_ = srv.Listener.Close()
		srv.Listener = l
		srv.Start()
		DeferCleanup(srv.Close)

		s := testSet(name, "/s/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Prerender.Paths = []string{"/s/listed"}
			s.Spec.Prerender.Sitemap = srv.URL + "/sitemap.xml"
		})
		createTestSet(s)
		Eventually(func(g Gomega) {
			g.Expect(setCondition(fetchSet(g, s), pagesv1alpha1.PrerenderedCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionFalse), "Reason": Equal(pagesv1alpha1.ReasonSitemapError),
				"Message": SatisfyAll(ContainSubstring("loopback"), ContainSubstring("--allow-origin"))}))
			g.Expect(setEvents(g, s)).To(ContainElement(HavePrefix("Warning " + pagesv1alpha1.ReasonSitemapError)))
		}).Should(Succeed())
		// The listed path is prerendered all the same; the sitemap's never.
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/s/listed"}))
		Expect(hits.Load()).To(BeZero())
	})
})

// setClockNamespace and setOtherNamespace are watched only by the manager
// with a fake clock.
const (
	setClockNamespace = "isr-set-clock"
	setOtherNamespace = "isr-set-other"
)

var _ = Describe("StaticPageSet controller over two namespaces, with a fake clock", Ordered, func() {
	var clk *clocktesting.FakePassiveClock

	BeforeAll(func() {
		SetDefaultEventuallyTimeout(20 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
		SetDefaultConsistentlyDuration(2 * time.Second)
		for _, ns := range []string{setClockNamespace, setOtherNamespace} {
			Expect(k8sClient.Create(context.Background(), testenv.Namespace(ns))).To(Succeed())
		}
		clk = clocktesting.NewFakePassiveClock(time.Now())
		mctx, stop := context.WithCancel(context.Background())
		mgr := newManagerFor([]string{setClockNamespace, setOtherNamespace}, func(o *Options) { o.Clock = clk })
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(done)
			Expect(mgr.Start(mctx)).To(Succeed())
		}()
		DeferCleanup(func() { stop(); <-done })
	})

	It("settles a conflict between sets of two namespaces: the servers' route table spans them", func() {
		host := uniqueName("crossns") + ".example"
		// Sets created within one second are ordered by namespace/name:
		// the older one's namespace sorts first too.
		older := testSet(uniqueName("a-crossns"), "/x/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Namespace = setClockNamespace
			s.Spec.Host = host
			s.Spec.Prerender.Paths = []string{"/x/1"}
		})
		createTestSet(older)
		Eventually(func(g Gomega) []string { return routesOf(g, older) }).Should(Equal([]string{"/x/1"}))
		later := testSet(uniqueName("b-crossns"), "/x/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Namespace = setOtherNamespace
			s.Spec.Host = host
			s.Spec.Prerender.Paths = []string{"/x/1"}
		})
		createTestSet(later)
		Eventually(func(g Gomega) {
			g.Expect(setCondition(fetchSet(g, later), pagesv1alpha1.ReadyCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Reason": Equal(pagesv1alpha1.ReasonConflict), "Message": ContainSubstring(setClockNamespace + "/" + older.Name)}))
		}).Should(Succeed())
		Consistently(func(g Gomega) []string { return routesOf(g, later) }).Should(BeEmpty())

		By("serving once the older set moves to another pattern")
		updateSet(older, func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Route = "/y/{id}"
			s.Spec.Prerender.Paths = []string{"/y/1"}
		})
		Eventually(func(g Gomega) {
			g.Expect(setCondition(fetchSet(g, later), pagesv1alpha1.ReadyCondition).Reason).To(Equal(pagesv1alpha1.ReasonServing))
			g.Expect(routesOf(g, later)).To(Equal([]string{"/x/1"}))
			g.Expect(routesOf(g, older)).To(Equal([]string{"/y/1"}))
		}).Should(Succeed())
	})

	It("deletes pages created by requests that no server served for expireAfter, and never prerendered ones", func() {
		start := clk.Now()
		s := testSet(uniqueName("expire"), "/e/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Namespace = setClockNamespace
			s.Spec.ExpireAfter = &metav1.Duration{Duration: time.Hour}
			s.Spec.Prerender.Paths = []string{"/e/pre"}
		})
		createTestSet(s)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/e/pre"}))
		createRequestChild(s, "/e/idle", nil)
		createRequestChild(s, "/e/served", func(c *pagesv1alpha1.StaticPage) {
			// A server served it 30 minutes after the spec began.
			c.Annotations = map[string]string{pagesv1alpha1.RequestedAtAnnotation: start.Add(30 * time.Minute).UTC().Format(time.RFC3339)}
		})
		Eventually(func(g Gomega) *int32 { return fetchSet(g, s).Status.Pages }).Should(Equal(ptr.To[int32](3)))

		By("keeping every page before expireAfter has passed")
		clk.SetTime(start.Add(50 * time.Minute))
		poke(s)
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/e/idle", "/e/pre", "/e/served"}))

		By("deleting the page not served for an hour")
		clk.SetTime(start.Add(61 * time.Minute))
		poke(s)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/e/pre", "/e/served"}))
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/e/pre", "/e/served"}))
		Eventually(func(g Gomega) []string { return setEvents(g, s) }).Should(ContainElement(SatisfyAll(
			HavePrefix("Normal "+pagesv1alpha1.EventPagesExpired), ContainSubstring("/e/idle"))))

		By("deleting the served page an hour after it was last served")
		clk.SetTime(start.Add(91 * time.Minute))
		poke(s)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/e/pre"}))

		By("never expiring a prerendered page")
		clk.SetTime(start.Add(100 * time.Hour))
		poke(s)
		Consistently(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/e/pre"}))
		Expect(apierrors.IsNotFound(k8sClient.Get(context.Background(),
			types.NamespacedName{Namespace: s.Namespace, Name: pagesv1alpha1.ChildName(s.Name, "/e/idle")}, &pagesv1alpha1.StaticPage{}))).To(BeTrue())
	})

	It("goes on expiring another set's pages while two sitemap indexes point at a tarpit", func() {
		tarpit, err := testorigin.NewTarpit()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(tarpit.Close)
		index := newOrigin(`<?xml version="1.0" encoding="UTF-8"?>` +
			`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` +
			`<sitemap><loc>` + tarpit.URL + `/sitemap-1.xml</loc></sitemap></sitemapindex>`)
		index.SetContentType("application/xml")
		var hung []*pagesv1alpha1.StaticPageSet
		for range 2 {
			s := testSet(uniqueName("tarpit-index"), "/t/{id}", func(s *pagesv1alpha1.StaticPageSet) {
				s.Namespace = setClockNamespace
				// The reads must not end while the spec looks at them.
				s.Spec.Origin.Timeout = &metav1.Duration{Duration: time.Minute}
				s.Spec.Prerender = pagesv1alpha1.Prerender{Paths: []string{"/t/listed"}, Sitemap: index.URL + "/sitemap.xml"}
			})
			createTestSet(s)
			hung = append(hung, s)
		}
		By("hanging both sitemap reads on the tarpit, while the sets make their listed pages")
		Eventually(tarpit.Open).Should(Equal(2))
		for _, s := range hung {
			Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(Equal([]string{"/t/listed"}))
			Eventually(func(g Gomega) metav1.Condition {
				return setCondition(fetchSet(g, s), pagesv1alpha1.PrerenderedCondition)
			}).Should(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionFalse), "Message": ContainSubstring("reading the sitemap")}))
		}

		By("expiring a page of another set meanwhile")
		start := clk.Now()
		s := testSet(uniqueName("expire-busy"), "/x/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Namespace = setOtherNamespace
			s.Spec.ExpireAfter = &metav1.Duration{Duration: time.Hour}
		})
		createTestSet(s)
		createRequestChild(s, "/x/idle", func(c *pagesv1alpha1.StaticPage) {
			// Last served now, by the fake clock that earlier specs moved.
			c.Annotations = map[string]string{pagesv1alpha1.RequestedAtAnnotation: start.UTC().Format(time.RFC3339)}
		})
		Eventually(func(g Gomega) *int32 { return fetchSet(g, s).Status.Pages }).Should(Equal(ptr.To[int32](1)))
		clk.SetTime(start.Add(61 * time.Minute))
		poke(s)
		Eventually(func(g Gomega) []string { return routesOf(g, s) }).Should(BeEmpty())

		By("no sitemap read has ended yet: the expiry did not wait for them")
		Expect(tarpit.Accepted()).To(Equal(2))
		Expect(tarpit.Open()).To(Equal(2))
	})
})
