package policy

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// What the host grants policy (config/admission/host-grants.yaml) refuses
// to tenants whose RBAC allows StaticPages and StaticPageSets in their own
// namespace only: tenant a is granted shop.example.com, tenant b
// b.example.com. The manager and the server refuse the same without the
// policy (controllers' host grants specs).
var _ = Describe("the host grants policy, for tenants who may write pages in their own namespace only", Ordered, func() {
	const (
		nsA, nsB    = "tenant-a", "tenant-b"
		shop, hostB = "shop.example.com", "b.example.com"
	)
	var asA, asB client.Client

	BeforeAll(func() {
		for ns, hosts := range map[string]string{nsA: shop, nsB: hostB} {
			n := testenv.Namespace(ns)
			n.Annotations[route.HostsAnnotation] = hosts
			Expect(admin.Create(ctx, n)).To(Succeed())
		}
		var err error
		asA, err = testenv.Tenant(ctx, admin, adminCfg, nsA, "tenant-a")
		Expect(err).NotTo(HaveOccurred())
		asB, err = testenv.Tenant(ctx, admin, adminCfg, nsB, "tenant-b")
		Expect(err).NotTo(HaveOccurred())
		By("waiting for the tenants' RBAC and the policy")
		Eventually(func() error { return asB.Create(ctx, tenantPage(nsB, uniqueName("probe"), hostB)) }).
			WithTimeout(30 * time.Second).Should(Succeed())
		Eventually(func() error { return asB.Create(ctx, tenantPage(nsB, uniqueName("probe"), shop)) }).
			WithTimeout(30 * time.Second).Should(MatchError(ContainSubstring(route.HostsAnnotation)))
	})

	// notGranted expects err to be the policy's refusal of host in ns, with
	// the command that grants it.
	notGranted := func(err error, ns, host string) {
		GinkgoHelper()
		refused(err, route.HostsAnnotation)
		Expect(err.Error()).To(ContainSubstring("kubectl annotate namespace " + ns + " --overwrite 'isr-operator.io/hosts="))
		Expect(err.Error()).To(ContainSubstring(route.GrantCommand(ns, hostB, host)))
	}

	It("lets each tenant serve the hosts granted to its namespace", func() {
		Expect(asA.Create(ctx, tenantPage(nsA, uniqueName("home"), shop))).To(Succeed())
		Expect(asA.Create(ctx, tenantPage(nsA, uniqueName("home"), shop+":8443"))).To(Succeed())
		Expect(asB.Create(ctx, tenantPage(nsB, uniqueName("home"), hostB))).To(Succeed())
		Expect(asA.Create(ctx, tenantSet(nsA, uniqueName("products"), shop, "/products/{id}"))).To(Succeed())
	})

	It("refuses a page or set for another tenant's host at apply", func() {
		notGranted(asB.Create(ctx, tenantPage(nsB, uniqueName("login"), shop)), nsB, shop)
		notGranted(asB.Create(ctx, tenantSet(nsB, uniqueName("products"), shop, "/products/{id}")), nsB, shop)
		notGranted(asB.Create(ctx, tenantPage(nsB, uniqueName("sub"), "www."+shop)), nsB, "www."+shop)
	})

	It("refuses a page or set with no host, which every host would serve", func() {
		notGranted(asB.Create(ctx, tenantPage(nsB, uniqueName("any"), "")), nsB, "")
		notGranted(asB.Create(ctx, tenantSet(nsB, uniqueName("catch-all"), "", "/{rest...}")), nsB, "")
	})

	It("refuses a /{rest...} set on another tenant's host", func() {
		notGranted(asB.Create(ctx, tenantSet(nsB, uniqueName("catch-all"), shop, "/{rest...}")), nsB, shop)
	})

	It("refuses moving an older page or set to another tenant's host", func() {
		p := tenantPage(nsB, uniqueName("old"), hostB)
		Expect(asB.Create(ctx, p)).To(Succeed())
		notGranted(asB.Patch(ctx, p, mergePatch(`{"spec":{"host":"`+shop+`"}}`)), nsB, shop)
		notGranted(asB.Patch(ctx, p, mergePatch(`{"spec":{"host":null}}`)), nsB, "")
		s := tenantSet(nsB, uniqueName("old"), hostB, "/x/{id}")
		Expect(asB.Create(ctx, s)).To(Succeed())
		notGranted(asB.Patch(ctx, s, mergePatch(`{"spec":{"host":"`+shop+`"}}`)), nsB, shop)
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(p), p)).To(Succeed())
		Expect(p.Spec.Host).To(Equal(hostB))
	})

	It("lets a tenant whose grant was taken back still change and delete its pages", func() {
		p := tenantPage(nsA, uniqueName("revoked"), shop)
		Expect(asA.Create(ctx, p)).To(Succeed())
		ns := &corev1.Namespace{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: nsA}, ns)).To(Succeed())
		ns.Annotations[route.HostsAnnotation] = "other.example.com"
		Expect(admin.Update(ctx, ns)).To(Succeed())
		DeferCleanup(func() {
			Expect(admin.Get(ctx, client.ObjectKey{Name: nsA}, ns)).To(Succeed())
			ns.Annotations[route.HostsAnnotation] = shop
			Expect(admin.Update(ctx, ns)).To(Succeed())
		})
		Eventually(func() error { return asA.Create(ctx, tenantPage(nsA, uniqueName("late"), shop)) }).
			Should(MatchError(ContainSubstring(route.HostsAnnotation)))
		Expect(asA.Patch(ctx, p, mergePatch(`{"metadata":{"labels":{"team":"web"}}}`))).To(Succeed())
		Expect(asA.Delete(ctx, p)).To(Succeed())
	})

	It("does not let a tenant grant itself a host", func() {
		ns := &corev1.Namespace{}
		Expect(admin.Get(ctx, client.ObjectKey{Name: nsB}, ns)).To(Succeed())
		err := asB.Patch(ctx, ns, mergePatch(`{"metadata":{"annotations":{"`+route.HostsAnnotation+`":"*"}}}`))
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("forbidden"))
	})
})

// tenantPage is a StaticPage of namespace ns for host.
func tenantPage(ns, name, host string) *pagesv1alpha1.StaticPage {
	return &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: pagesv1alpha1.StaticPageSpec{
			Route:  "/login",
			Host:   host,
			Origin: pagesv1alpha1.Origin{URL: "http://site." + ns + ".svc/login"},
		},
	}
}

// tenantSet is a StaticPageSet of namespace ns for pattern on host.
func tenantSet(ns, name, host, pattern string) *pagesv1alpha1.StaticPageSet {
	return &pagesv1alpha1.StaticPageSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: pagesv1alpha1.StaticPageSetSpec{
			Route:  pattern,
			Host:   host,
			Origin: pagesv1alpha1.Origin{URL: "http://site." + ns + ".svc/x"},
		},
	}
}
