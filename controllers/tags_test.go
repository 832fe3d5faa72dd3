package controllers

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/tags"
)

var _ = Describe("Page tags", func() {
	It("carries its spec.tags, its origin's tags and its identity tag in status.tags", func() {
		o := newOrigin("<h1>tagged</h1>")
		o.SetHeader("Cache-Tag", "sale,shoes")
		o.SetHeader("Surrogate-Key", "brand-acme  sale")
		o.SetHeader("X-Cache-Tags", "bad{tag} isr_page_other_x "+strings.Repeat("x", 129))
		p := newPage(uniqueName("tagged"), "/tagged", o.URL, 0)
		p.Spec.Tags = []string{"home", "sale"}
		create(p)

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Tags).To(Equal([]string{
				tags.PageTag(p.Namespace, p.Name), "brand-acme", "home", "sale", "shoes",
			}))
			g.Expect(got.Status.OriginTags).To(Equal([]string{"sale", "shoes", "brand-acme"}))
			g.Expect(got.Status.DroppedOriginTags).To(BeEquivalentTo(3), "an invalid, a reserved and a too long tag")
		}).Should(Succeed())

		By("the origin's tags change with its next answer")
		o.SetHeader("Cache-Tag")
		o.SetHeader("Surrogate-Key")
		o.SetHeader("X-Cache-Tags", "winter")
		annotate(p, "tags-1")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.LastHandledRevalidate).To(Equal("tags-1"))
			g.Expect(got.Status.Tags).To(Equal([]string{tags.PageTag(p.Namespace, p.Name), "home", "sale", "winter"}))
			g.Expect(got.Status.DroppedOriginTags).To(BeZero())
		}).Should(Succeed())
	})

	It("keeps at most the origin tags allowed and says how many it dropped", func() {
		o := newOrigin("<h1>many tags</h1>")
		var many []string
		for i := range tags.MaxOrigin + 5 {
			many = append(many, fmt.Sprintf("t%03d", i))
		}
		o.SetHeader("Cache-Tag", strings.Join(many, ","))
		p := newPage(uniqueName("many-tags"), "/many-tags", o.URL, 0)
		create(p)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.OriginTags).To(Equal(many[:tags.MaxOrigin]))
			g.Expect(got.Status.DroppedOriginTags).To(BeEquivalentTo(5))
			g.Expect(got.Status.Tags).To(HaveLen(1 + tags.MaxOrigin))
		}).Should(Succeed())
	})

	It("gives a set's pages the set's tags filled in with their route parameters", func() {
		o := newOrigin("<h1>product</h1>")
		o.SetHeader("Cache-Tag", "catalog")
		set := newSet(uniqueName("tagset"), "/tagged-products/{id}", o.URL+"/p/{id}", 0)
		set.Spec.Tags = []string{"product-{id}", "products"}
		set.Spec.Prerender.Paths = []string{"/tagged-products/42", "/tagged-products/café"}
		createSet(set)

		child42 := &pagesv1alpha1.StaticPage{}
		child42.Namespace, child42.Name = set.Namespace, pagesv1alpha1.ChildName(set.Name, "/tagged-products/42")
		childAB := &pagesv1alpha1.StaticPage{}
		childAB.Namespace, childAB.Name = set.Namespace, pagesv1alpha1.ChildName(set.Name, "/tagged-products/café")
		Eventually(func(g Gomega) {
			g.Expect(fetch(g, child42).Status.Tags).To(Equal([]string{
				tags.PageTag(set.Namespace, child42.Name), tags.SetTag(set.Namespace, set.Name), "catalog", "product-42", "products",
			}))
			g.Expect(fetch(g, childAB).Status.Tags).To(ContainElement("product-caf%C3%A9"))
		}).Should(Succeed())
		rendered := fetch(Default, child42).Status.RenderedAt

		By("a change of the set's tags reaches its pages without a render")
		Eventually(func() error {
			cur := fetchSet(Default, set)
			cur.Spec.Tags = []string{"item-{id}"}
			return k8sClient.Update(context.Background(), cur)
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			got := fetch(g, child42)
			g.Expect(got.Status.Tags).To(Equal([]string{
				tags.PageTag(set.Namespace, child42.Name), tags.SetTag(set.Namespace, set.Name), "catalog", "item-42",
			}))
			g.Expect(got.Status.RenderedAt).To(Equal(rendered))
		}).Should(Succeed())
	})

	It("refuses tags the API does not allow at apply time", func() {
		for _, bad := range [][]string{
			{"has space"}, {"comma,tag"}, {"colon:tag"}, {"isr_page_x"}, {"ISR_mine"}, {""}, {strings.Repeat("a", 129)}, {"{id}"},
		} {
			p := newPage(uniqueName("badtag"), "/badtag", "http://origin.example/", 0)
			p.Spec.Tags = bad
			err := k8sClient.Create(context.Background(), p)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "tags %q: %v", bad, err)
		}
		tooMany := make([]string, tags.MaxDeclared+1)
		for i := range tooMany {
			tooMany[i] = fmt.Sprintf("t%d", i)
		}
		p := newPage(uniqueName("badtag"), "/badtag", "http://origin.example/", 0)
		p.Spec.Tags = tooMany
		Expect(apierrors.IsInvalid(k8sClient.Create(context.Background(), p))).To(BeTrue())

		By("a set's tags may use only the route's parameters")
		s := newSet(uniqueName("badtagset"), "/bt/{id}", "http://origin.example/{id}", 0)
		s.Spec.Tags = []string{"product-{sku}"}
		err := k8sClient.Create(context.Background(), s)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("tags may use only parameters that route defines"))
		s.Spec.Tags = []string{"product-{id}", "all-{rest...}"}
		s.Spec.Route = "/bt/{id}/{rest...}"
		Expect(k8sClient.Create(context.Background(), s)).To(Succeed())
		Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), s))).To(Succeed())
	})
})
