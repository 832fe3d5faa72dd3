package controllers

import (
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// newSet is a StaticPageSet rendering route pattern from template.
func newSet(name, pattern, template string, revalidate time.Duration) *pagesv1alpha1.StaticPageSet {
	s := &pagesv1alpha1.StaticPageSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name},
		Spec: pagesv1alpha1.StaticPageSetSpec{
			Route:  pattern,
			Origin: pagesv1alpha1.Origin{URL: template},
		},
	}
	if revalidate > 0 {
		s.Spec.Revalidate = &metav1.Duration{Duration: revalidate}
	}
	return s
}

func createSet(s *pagesv1alpha1.StaticPageSet) {
	Expect(k8sClient.Create(context.Background(), s)).To(Succeed())
	DeferCleanup(func() {
		Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), s))).To(Succeed())
	})
}

// newChild is the page a server creates for a visitor's request of route:
// it names the set and carries no origin.
func newChild(set *pagesv1alpha1.StaticPageSet, route, createdBy string) *pagesv1alpha1.StaticPage {
	return &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: set.Namespace,
			Name:      pagesv1alpha1.ChildName(set.Name, route),
			Labels:    map[string]string{pagesv1alpha1.SetLabel: set.Name, pagesv1alpha1.CreatedByLabel: createdBy},
		},
		Spec: pagesv1alpha1.StaticPageSpec{Route: route, Set: pagesv1alpha1.SetReference{Name: set.Name}},
	}
}

func gone(p *pagesv1alpha1.StaticPage) func(Gomega) {
	return func(g Gomega) {
		err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(p), &pagesv1alpha1.StaticPage{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "page %s still exists", p.Name)
	}
}

var _ = Describe("A StaticPageSet's page", func() {
	It("is rendered from its set's template with its route's parameters, and again when the template changes", func() {
		o := newOrigin("product page")
		set := newSet(uniqueName("shop"), "/set1/{id}/{rest...}", o.URL+"/render/{id}?path={rest}", time.Hour)
		createSet(set)
		child := newChild(set, "/set1/café/a/b", pagesv1alpha1.CreatedByRequest)
		create(child)

		Eventually(func(g Gomega) {
			p := fetch(g, child)
			g.Expect(ready(p)).NotTo(BeNil())
			g.Expect(ready(p).Reason).To(Equal(pagesv1alpha1.ReasonRendered))
			g.Expect(p.Status.OriginURL).To(Equal(o.URL + "/render/caf%C3%A9?path=a%2Fb"))
		}).Should(Succeed())
		Expect(o.Paths()).To(ConsistOf("/render/caf%C3%A9?path=a%2Fb"))
		Eventually(func(g Gomega) {
			res := get("example.com", "/set1/caf%C3%A9/a/b")
			g.Expect(res.Code).To(Equal(http.StatusOK))
			g.Expect(res.Body.String()).To(Equal("product page"))
		}).Should(Succeed())

		By("changing the set's template, which changes no generation of the page")
		Eventually(func(g Gomega) {
			cur := &pagesv1alpha1.StaticPageSet{}
			g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(set), cur)).To(Succeed())
			cur.Spec.Origin.URL = o.URL + "/v2/{id}"
			g.Expect(k8sClient.Update(context.Background(), cur)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(fetch(g, child).Status.OriginURL).To(Equal(o.URL + "/v2/caf%C3%A9"))
		}).Should(Succeed())
		Expect(o.CountPath("/v2/caf%C3%A9")).To(Equal(1))
	})

	DescribeTable("is not rendered when its set gives it no origin",
		func(pattern, route, host, why string) {
			o := newOrigin("never")
			set := newSet(uniqueName("shop"), pattern, o.URL+"/render/{id}", 0)
			createSet(set)
			child := newChild(set, route, pagesv1alpha1.CreatedByRequest)
			child.Spec.Host = host
			create(child)
			Eventually(func(g Gomega) {
				c := ready(fetch(g, child))
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Reason).To(Equal(why))
			}).Should(Succeed())
			Consistently(o.Count).WithTimeout(300 * time.Millisecond).Should(BeZero())
		},
		Entry("a route outside the pattern", "/set2/{id}", "/other/42", "", pagesv1alpha1.ReasonOutsideSet),
		Entry("a route with one segment too many", "/set3/{id}", "/set3/42/x", "", pagesv1alpha1.ReasonOutsideSet),
		Entry("another host than the set's", "/set4/{id}", "/set4/42", "evil.example", pagesv1alpha1.ReasonOutsideSet),
	)

	It("is not rendered when its value breaks the set's spec.parameters, and the origin is never asked", func() {
		o := newOrigin("never")
		set := newSet(uniqueName("shop"), "/set9/{id}", o.URL+"/render/{id}", 0)
		set.Spec.Parameters = []pagesv1alpha1.ParameterConstraint{{Name: "id", Pattern: "[1-9][0-9]{0,9}"}}
		createSet(set)
		// As a server of an older version, or a client holding the
		// server's credentials, could create it.
		child := newChild(set, "/set9/0042", pagesv1alpha1.CreatedByRequest)
		create(child)
		Eventually(func(g Gomega) {
			c := ready(fetch(g, child))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonOutsideSet))
			g.Expect(c.Message).To(ContainSubstring("parameters"))
		}).Should(Succeed())
		Consistently(o.Count).WithTimeout(300 * time.Millisecond).Should(BeZero())
	})

	It("waits for a set that does not exist", func() {
		set := newSet(uniqueName("missing"), "/set5/{id}", "http://127.0.0.1:1/{id}", 0)
		child := newChild(set, "/set5/1", pagesv1alpha1.CreatedByRequest)
		create(child)
		Eventually(func(g Gomega) {
			c := ready(fetch(g, child))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonSetNotFound))
		}).Should(Succeed())
	})

	It("is remembered as absent for the set's interval when the origin has no such path, then forgotten", func() {
		o := newOrigin("")
		o.Set(http.StatusNotFound, "no such product")
		set := newSet(uniqueName("shop"), "/set6/{id}", o.URL+"/p/{id}", 2*time.Second)
		createSet(set)
		child := newChild(set, "/set6/404", pagesv1alpha1.CreatedByRequest)
		create(child)
		Eventually(func(g Gomega) {
			c := ready(fetch(g, child))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonWithdrawn))
		}).Should(Succeed())
		Eventually(gone(child)).WithTimeout(10 * time.Second).Should(Succeed())
		// Forgotten, not asked again: the next request starts afresh.
		Expect(o.Count()).To(Equal(1))
		Expect(get("example.com", "/set6/404").Code).To(Equal(http.StatusNotFound))
	})

	It("is forgotten when its first render fails, if a request made it, and retried if prerendered", func() {
		o := newOrigin("")
		o.Set(http.StatusInternalServerError, "boom")
		set := newSet(uniqueName("shop"), "/set7/{id}", o.URL+"/p/{id}", time.Hour)
		createSet(set)
		requested := newChild(set, "/set7/1", pagesv1alpha1.CreatedByRequest)
		prerendered := newChild(set, "/set7/2", pagesv1alpha1.CreatedByPrerender)
		create(requested)
		create(prerendered)
		Eventually(gone(requested)).Should(Succeed())
		Eventually(func(g Gomega) {
			c := ready(fetch(g, prerendered))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonOriginError))
		}).Should(Succeed())
		Eventually(func() int { return o.CountPath("/p/2") }).Should(BeNumerically(">=", 2), "the prerendered page is retried")
		Expect(o.CountPath("/p/1")).To(Equal(1), "the requested path is not retried")
		Consistently(gone(prerendered)).WithTimeout(300 * time.Millisecond).ShouldNot(Succeed())
	})

	It("may not carry an origin of its own", func() {
		set := newSet(uniqueName("shop"), "/set8/{id}", "http://origin.example/{id}", 0)
		child := newChild(set, "/set8/1", pagesv1alpha1.CreatedByRequest)
		child.Spec.Origin = pagesv1alpha1.Origin{URL: "http://127.0.0.2:9/"} // nothing to reach, should it be rendered
		err := k8sClient.Create(context.Background(), child)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("exactly one of origin and set"))
		child.Spec.Origin = pagesv1alpha1.Origin{}
		child.Spec.Suspend = new(true)
		create(child)
		Eventually(func(g Gomega) {
			cur := fetch(g, child)
			cur.Spec.Set = pagesv1alpha1.SetReference{Name: "another"}
			err := k8sClient.Update(context.Background(), cur)
			g.Expect(apierrors.IsConflict(err)).To(BeFalse(), "the controller wrote the page meanwhile")
			g.Expect(err).To(HaveOccurred())
			g.Expect(err.Error()).To(ContainSubstring("set is immutable"))
		}).Should(Succeed())
	})
})

var _ = Describe("A StaticPageSet's pages, as the set changes", func() {
	It("follow a new interval without a render, and go with the set when it is deleted", func() {
		o := newOrigin("prerendered")
		set := newSet(uniqueName("shop"), "/set9/{id}", o.URL+"/p/{id}", time.Hour)
		set.Spec.Prerender.Paths = []string{"/set9/1", "/set9/2"}
		createSet(set)
		children := func(g Gomega) []pagesv1alpha1.StaticPage {
			list := &pagesv1alpha1.StaticPageList{}
			g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(testNamespace),
				client.MatchingLabels{pagesv1alpha1.SetLabel: set.Name})).To(Succeed())
			return list.Items
		}
		Eventually(func(g Gomega) {
			pages := children(g)
			g.Expect(pages).To(HaveLen(2))
			for i := range pages {
				g.Expect(ready(&pages[i])).NotTo(BeNil())
				g.Expect(ready(&pages[i]).Reason).To(Equal(pagesv1alpha1.ReasonRendered))
			}
		}).Should(Succeed())
		Expect(o.Count()).To(Equal(2))

		By("changing the set's interval")
		Eventually(func(g Gomega) {
			cur := &pagesv1alpha1.StaticPageSet{}
			g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(set), cur)).To(Succeed())
			cur.Spec.Revalidate = &metav1.Duration{Duration: 2 * time.Hour}
			g.Expect(k8sClient.Update(context.Background(), cur)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			for _, p := range children(g) {
				g.Expect(p.Spec.Revalidate).To(Equal(&metav1.Duration{Duration: 2 * time.Hour}))
				g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation), "the page's status catches up")
			}
		}).Should(Succeed())
		Consistently(o.Count).WithTimeout(time.Second).Should(Equal(2), "a new interval renders nothing now")

		By("deleting the set")
		Expect(k8sClient.Delete(context.Background(), set)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(children(g)).To(BeEmpty()) }).Should(Succeed())
		Eventually(func() bool {
			err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(set), &pagesv1alpha1.StaticPageSet{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue(), "the set is released once its pages are gone")
		Eventually(func() int { return get("example.com", "/set9/1").Code }).Should(Equal(http.StatusNotFound))
	})
})

// TestSetRoute: a redirect's final URL maps back to the set's path whose
// origin URL it is, keeping the values of parameters the template does not
// use, and to none when the set has no such path or refuses its values.
func TestSetRoute(t *testing.T) {
	ids := newSet("s", "/products/{id}", "http://shop.svc/p/{id}", 0)
	ids.Spec.Parameters = []pagesv1alpha1.ParameterConstraint{{Name: "id", Pattern: "[1-9][0-9]*"}}
	lang := newSet("s", "/{lang}/products/{id}", "http://shop.svc/p/{id}", 0)
	for _, tc := range []struct {
		name  string
		set   *pagesv1alpha1.StaticPageSet
		from  string
		final string
		want  string
	}{
		{"canonical id", ids, "/products/0042", "http://shop.svc/p/42", "/products/42"},
		{"host case", ids, "/products/0042", "http://SHOP.svc/p/42", "/products/42"},
		{"to itself", ids, "/products/42", "http://shop.svc/p/42", "/products/42"},
		{"value refused by spec.parameters", ids, "/products/42", "http://shop.svc/p/042", ""},
		{"outside the template", ids, "/products/0042", "http://shop.svc/items/42", ""},
		{"another host", ids, "/products/0042", "http://login.svc/p/42", ""},
		{"a query the template lacks", ids, "/products/0042", "http://shop.svc/p/42?ref=1", ""},
		{"parameter the template does not use", lang, "/de/products/0042", "http://shop.svc/p/42", "/de/products/42"},
	} {
		if got := setRoute(tc.set, tc.from, tc.final); got != tc.want {
			t.Errorf("%s: setRoute(%q, %q) = %q, want %q", tc.name, tc.from, tc.final, got, tc.want)
		}
	}
}
