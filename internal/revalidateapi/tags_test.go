package revalidateapi_test

import (
	"context"
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/tags"
)

// taggedPage creates a page at route with spec.tags and waits until
// status.tags carries them.
func taggedPage(route string, tagList ...string) *pagesv1alpha1.StaticPage {
	o := newOrigin("tagged " + route)
	p := &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("page-%d", seq.Add(1))},
		Spec:       pagesv1alpha1.StaticPageSpec{Route: route, Origin: pagesv1alpha1.Origin{URL: o.URL}, Tags: tagList},
	}
	Expect(k8sClient.Create(context.Background(), p)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), p) })
	Eventually(func(g Gomega) {
		g.Expect(get(g, p).Status.Tags).To(ContainElements(tagList))
	}).Should(Succeed())
	return p
}

var _ = Describe("POST /revalidate with tags", func() {
	It("revalidates the pages carrying any of the tags, in the namespaces it serves only", func() {
		a := taggedPage("/tags/a", "summer-sale")
		b := taggedPage("/tags/b", "summer-sale", "shoes")
		c := taggedPage("/tags/c", "winter")

		By("a page of another namespace carrying the same tag")
		other := "isr-webhook-other-tags"
		err := k8sClient.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}})
		Expect(err == nil || apierrors.IsAlreadyExists(err)).To(BeTrue(), "%v", err)
		foreign := &pagesv1alpha1.StaticPage{
			ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "foreign"},
			Spec:       pagesv1alpha1.StaticPageSpec{Route: "/tags/a", Origin: pagesv1alpha1.Origin{URL: "http://origin.example/"}, Tags: []string{"summer-sale"}},
		}
		Expect(k8sClient.Create(context.Background(), foreign)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), foreign) })
		foreign.Status.Tags = []string{"summer-sale"}
		Expect(k8sClient.Status().Update(context.Background(), foreign)).To(Succeed())

		got := bearer(`{"tags": ["summer-sale", "no-such-tag"]}`).do()
		Expect(got.code).To(Equal(http.StatusAccepted), got.raw)
		Expect(names(got)).To(ConsistOf(a.Name, b.Name))
		Expect(got.resp.Unmatched.Tags).To(Equal([]string{"no-such-tag"}))
		Eventually(annotation(a)).Should(Equal(got.resp.Token))
		Eventually(annotation(b)).Should(Equal(got.resp.Token))
		Consistently(annotation(c)).Should(BeEmpty())
		Consistently(annotation(foreign)).Should(BeEmpty(), "another namespace's page is not reached")

		By("naming the other namespace, nothing is reached there either")
		none := bearer(fmt.Sprintf(`{"tags": ["summer-sale"], "namespace": %q}`, other)).do()
		Expect(none.code).To(Equal(http.StatusNotFound), none.raw)
		Expect(none.raw).To(ContainSubstring(`"tags":["summer-sale"]`))

		By("an identity tag names one page")
		one := bearer(fmt.Sprintf(`{"tags": [%q]}`, tags.PageTag(ns, c.Name))).do()
		Expect(one.code).To(Equal(http.StatusAccepted), one.raw)
		Expect(names(one)).To(Equal([]string{c.Name}))
	})
})
