package policy

import (
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// The storage finalizer policy of config/admission/s3 is installed only for
// these specs: the others expect pages created without finalizers.
var _ = Describe("the storage finalizer policy (config/admission/s3)", Ordered, func() {
	var objs []*unstructured.Unstructured

	// created is a page a user creates, as the API server stored it.
	created := func(g Gomega, mutate func(*pagesv1alpha1.StaticPage)) *pagesv1alpha1.StaticPage {
		p := newPage(uniqueName("finalized"))
		if mutate != nil {
			mutate(p)
		}
		g.Expect(admin.Create(ctx, p)).To(Succeed())
		return p
	}

	BeforeAll(func() {
		objs = kustomization(filepath.Join(testenv.Root(), "config", "admission", "s3"))
		for _, obj := range objs {
			Expect(admin.Create(ctx, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
		}
		By("waiting for the policy to add its first finalizer")
		Eventually(func(g Gomega) {
			g.Expect(created(g, nil).Finalizers).To(ContainElement(pagesv1alpha1.StorageFinalizer))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	AfterAll(func() {
		for _, obj := range objs {
			Expect(client.IgnoreNotFound(admin.Delete(ctx, obj))).To(Succeed())
		}
		By("waiting until pages are created without it again")
		Eventually(func(g Gomega) {
			g.Expect(created(g, nil).Finalizers).To(BeEmpty())
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("adds the storage finalizer to a page as it is created, once, keeping the page's own", func() {
		p := created(Default, func(p *pagesv1alpha1.StaticPage) { p.Finalizers = []string{"example.com/hold"} })
		Expect(p.Finalizers).To(ConsistOf("example.com/hold", pagesv1alpha1.StorageFinalizer))
		again := created(Default, func(p *pagesv1alpha1.StaticPage) { p.Finalizers = []string{pagesv1alpha1.StorageFinalizer} })
		Expect(again.Finalizers).To(ConsistOf(pagesv1alpha1.StorageFinalizer))
	})

	It("adds it to the set pages the server creates, which the server's own policy allows", func() {
		set := newSet(uniqueName("products"))
		Expect(admin.Create(ctx, set)).To(Succeed())
		child := pagesv1alpha1.RequestedChild(set, "/products/"+uniqueName("p"))
		Expect(server.Create(ctx, child)).To(Succeed())
		Expect(child.Finalizers).To(ConsistOf(pagesv1alpha1.StorageFinalizer))

		By("still refusing any other finalizer from the server")
		other := pagesv1alpha1.RequestedChild(set, "/products/"+uniqueName("p"))
		other.Finalizers = []string{"example.com/hold"}
		refused(server.Create(ctx, other), "may not create a StaticPage with finalizers other than pages.isr-operator.io/storage")
	})
})

// The chart's storage finalizer policy with watchNamespaces: a page in a
// namespace the release does not watch gets no finalizer, since no manager
// of the release would ever remove it.
var _ = Describe("the chart's storage finalizer policy, with watchNamespaces", Ordered, func() {
	const unwatched = "unwatched"
	var objs []*unstructured.Unstructured

	created := func(g Gomega, ns string) *pagesv1alpha1.StaticPage {
		p := newPage(uniqueName("finalized"))
		p.Namespace = ns
		g.Expect(admin.Create(ctx, p)).To(Succeed())
		return p
	}

	BeforeAll(func() {
		Expect(admin.Create(ctx, testenv.Namespace(unwatched))).To(Succeed())
		for _, obj := range renderChart(systemNamespace, "isr-watching",
			"--set", "storage.type=s3", "--set", "storage.s3.bucket=pages", "--set", "storage.s3.endpoint=http://s3.invalid",
			"--set", "watchNamespaces={"+userNamespace+"}",
			"--api-versions", "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy") {
			if kind := obj.GetKind(); kind == "MutatingAdmissionPolicy" || kind == "MutatingAdmissionPolicyBinding" {
				objs = append(objs, obj)
			}
		}
		Expect(objs).To(HaveLen(2), "the chart renders the policy and its binding")
		for _, obj := range objs {
			Expect(admin.Create(ctx, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
		}
		By("waiting for the policy to add its first finalizer in the watched namespace")
		Eventually(func(g Gomega) {
			g.Expect(created(g, userNamespace).Finalizers).To(ContainElement(pagesv1alpha1.StorageFinalizer))
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	AfterAll(func() {
		for _, obj := range objs {
			Expect(client.IgnoreNotFound(admin.Delete(ctx, obj))).To(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(created(g, userNamespace).Finalizers).To(BeEmpty())
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("adds the finalizer only to pages of the watched namespaces", func() {
		Expect(created(Default, userNamespace).Finalizers).To(ConsistOf(pagesv1alpha1.StorageFinalizer))
		Expect(created(Default, unwatched).Finalizers).To(BeEmpty())
	})
})
