package controllers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gstruct"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// Two tenants' namespaces, watched only by the manager and server of the
// host grants specs. No admission policy is installed here: what these
// specs prove, the manager and the server enforce by themselves.
const (
	tenantANamespace = "isr-tenant-a"
	tenantBNamespace = "isr-tenant-b"
)

// Hosts granted to tenant a (shopHost, and revokedHost until a spec takes
// it back) and to tenant b (bHost).
const (
	shopHost    = "shop.tenant-a.example"
	revokedHost = "revoked.tenant-a.example"
	bHost       = "tenant-b.example"
)

var _ = Describe("host grants, with tenants who may write StaticPages and StaticPageSets in their own namespace only", Ordered, func() {
	var (
		asA, asB client.Client
		serve    func(host, path string, hdr ...string) *httptest.ResponseRecorder
	)

	BeforeAll(func() {
		SetDefaultEventuallyTimeout(20 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
		SetDefaultConsistentlyDuration(2 * time.Second)
		ctx := context.Background()
		for ns, hosts := range map[string]string{tenantANamespace: shopHost + "," + revokedHost, tenantBNamespace: bHost} {
			n := testenv.Namespace(ns)
			n.Annotations[route.HostsAnnotation] = hosts
			Expect(k8sClient.Create(ctx, n)).To(Succeed())
		}
		var err error
		asA, err = testenv.Tenant(ctx, k8sClient, cfg, tenantANamespace, "tenant-a")
		Expect(err).NotTo(HaveOccurred())
		asB, err = testenv.Tenant(ctx, k8sClient, cfg, tenantBNamespace, "tenant-b")
		Expect(err).NotTo(HaveOccurred())

		mgr := newManagerFor([]string{tenantANamespace, tenantBNamespace})
		sopts := server.DefaultOptions()
		sopts.ListenAddress = ""
		sopts.Cache = server.CachePolicy{StaleWhileRevalidate: time.Hour, StaleIfError: time.Hour, OnDemandMaxAge: time.Minute, MaxBodyBytes: testMaxBody}
		mctx, stop := context.WithCancel(context.Background())
		srv, err := server.Setup(mctx, mgr, sopts)
		Expect(err).NotTo(HaveOccurred())
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(done)
			Expect(mgr.Start(mctx)).To(Succeed())
		}()
		DeferCleanup(func() { stop(); <-done })
		Eventually(func() error { return srv.Sync.Ready(nil) }).WithTimeout(30 * time.Second).Should(Succeed())
		serve = serveWith(srv.Handler)
	})

	// tenantPage is a page of namespace ns for host and path, rendered from
	// an origin answering body.
	tenantPage := func(ns, host, path, body string) *pagesv1alpha1.StaticPage {
		o := newOrigin(body)
		p := newPage(uniqueName("tenant"), path, o.URL+"/", 0)
		p.Namespace, p.Spec.Host = ns, host
		return p
	}
	// createAs creates obj as tenant c, and deletes it (as the admin) when
	// the spec ends.
	createAs := func(c client.Client, obj client.Object) {
		GinkgoHelper()
		Expect(c.Create(context.Background(), obj)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), obj))).To(Succeed()) })
	}
	body := func(host, path string) func() string {
		return func() string {
			rec := serve(host, path)
			if rec.Code != http.StatusOK {
				return fmt.Sprint(rec.Code)
			}
			return rec.Body.String()
		}
	}
	notAllowed := func(p *pagesv1alpha1.StaticPage) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(ready(got)).To(gstruct.PointTo(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status": Equal(metav1.ConditionFalse),
				"Reason": Equal(pagesv1alpha1.ReasonHostNotAllowed),
				"Message": SatisfyAll(ContainSubstring(route.HostsAnnotation),
					ContainSubstring("kubectl annotate namespace "+p.Namespace+" --overwrite")),
			})))
		}).Should(Succeed())
	}

	It("never serves a host from a namespace it is not granted to, by create or by a path nobody holds", func() {
		own := tenantPage(tenantANamespace, shopHost, "/login", "shop login")
		createAs(asA, own)
		Eventually(body(shopHost, "/login")).Should(Equal("shop login"))

		taker := tenantPage(tenantBNamespace, shopHost, "/login", "phished login")
		createAs(asB, taker)
		notAllowed(taker)
		fresh := tenantPage(tenantBNamespace, shopHost, "/unclaimed", "phished page")
		createAs(asB, fresh)
		notAllowed(fresh)
		Consistently(body(shopHost, "/login")).Should(Equal("shop login"))
		Consistently(body(shopHost, "/unclaimed")).Should(Equal("404"))
		Expect(fetch(Default, fresh).Status.Digest).To(BeEmpty(), "nothing is rendered for a host not granted")

		By("serving tenant b's own host from tenant b")
		mine := tenantPage(tenantBNamespace, bHost, "/login", "b login")
		createAs(asB, mine)
		Eventually(body(bHost, "/login")).Should(Equal("b login"))
	})

	It("never serves a page with no host from a namespace not granted *", func() {
		any := tenantPage(tenantBNamespace, "", "/any-host-page", "on every host")
		createAs(asB, any)
		notAllowed(any)
		Consistently(body(shopHost, "/any-host-page")).Should(Equal("404"))
	})

	It("never serves a host from a namespace it is not granted to by patching an older page", func() {
		// Tenant b's page is older than tenant a's and renders first.
		old := tenantPage(tenantBNamespace, bHost, "/patched", "b page")
		createAs(asB, old)
		Eventually(body(bHost, "/patched")).Should(Equal("b page"))
		own := tenantPage(tenantANamespace, shopHost, "/patched", "shop page")
		createAs(asA, own)
		Eventually(body(shopHost, "/patched")).Should(Equal("shop page"))

		Eventually(func(g Gomega) {
			got := fetch(g, old)
			got.Spec.Host = shopHost
			g.Expect(asB.Update(context.Background(), got)).To(Succeed())
		}).Should(Succeed())
		notAllowed(old)
		Consistently(body(shopHost, "/patched")).Should(Equal("shop page"))
		Expect(body(bHost, "/patched")()).To(Equal("404"), "the page left its granted host")
	})

	It("refuses a set for a host not granted, so a /{rest...} set catches nothing there", func() {
		o := newOrigin("caught")
		catchAll := testSet(uniqueName("catch-all"), "/{rest...}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Namespace, s.Spec.Host = tenantBNamespace, shopHost
			s.Spec.Origin.URL = o.URL + "/{rest...}"
			s.Spec.Prerender.Paths = []string{"/anything"}
		})
		Expect(asB.Create(context.Background(), catchAll)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), catchAll))).To(Succeed()) })
		Eventually(func(g Gomega) {
			g.Expect(setCondition(fetchSet(g, catchAll), pagesv1alpha1.ReadyCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Status":  Equal(metav1.ConditionFalse),
				"Reason":  Equal(pagesv1alpha1.ReasonHostNotAllowed),
				"Message": ContainSubstring("kubectl annotate namespace " + tenantBNamespace),
			}))
		}).Should(Succeed())
		Consistently(func(g Gomega) []string { return routesOf(g, catchAll) }).Should(BeEmpty())
		Consistently(body(shopHost, "/anything")).Should(Equal("404"))
		Expect(o.Count()).To(BeZero(), "nothing is fetched for a set whose host is not granted")
	})

	It("keeps a set's prerendered page when another namespace has a page of the same path", func() {
		set := testSet(uniqueName("products"), "/products/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Namespace, s.Spec.Host = tenantANamespace, shopHost
			s.Spec.Prerender.Paths = []string{"/products/1"}
		})
		Expect(asA.Create(context.Background(), set)).To(Succeed())
		DeferCleanup(func() {
			Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), set))).To(Succeed())
			Expect(k8sClient.DeleteAllOf(context.Background(), &pagesv1alpha1.StaticPage{}, client.InNamespace(tenantANamespace),
				client.MatchingLabels{pagesv1alpha1.SetLabel: set.Name})).To(Succeed())
		})
		Eventually(body(shopHost, "/products/1")).Should(Equal("page of " + set.Name))
		child := types.NamespacedName{Namespace: tenantANamespace, Name: pagesv1alpha1.ChildName(set.Name, "/products/1")}
		uid := func(g Gomega) types.UID {
			c := &pagesv1alpha1.StaticPage{}
			g.Expect(k8sClient.Get(context.Background(), child, c)).To(Succeed())
			return c.UID
		}
		first := uid(Default)

		taker := tenantPage(tenantBNamespace, shopHost, "/products/1", "phished product")
		createAs(asB, taker)
		notAllowed(taker)
		Consistently(func(g Gomega) types.UID { return uid(g) }).Should(Equal(first))
		Expect(body(shopHost, "/products/1")()).To(Equal("page of " + set.Name))
	})

	It("orders claims by the time of the claim: patching an older page or set onto a route never takes it", func() {
		old := tenantPage(tenantANamespace, shopHost, "/old-route", "old page")
		createAs(asA, old)
		Eventually(body(shopHost, "/old-route")).Should(Equal("old page"))
		current := tenantPage(tenantANamespace, shopHost, "/promo", "current promo")
		createAs(asA, current)
		Eventually(body(shopHost, "/promo")).Should(Equal("current promo"))
		claimed := fetch(Default, current).Status.Claim
		Expect(claimed.Since).NotTo(BeNil())
		Expect(claimed.Since.Time).To(Equal(fetch(Default, current).CreationTimestamp.Time), "a first claim is from the creation time")

		Eventually(func(g Gomega) {
			got := fetch(g, old)
			got.Spec.Route = "/promo"
			g.Expect(asA.Update(context.Background(), got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			c := fetch(g, old).Status.Claim
			g.Expect(c.Since).NotTo(BeNil())
			g.Expect(c.Route).To(Equal("/promo"))
			g.Expect(c.Since.Time).To(BeTemporally(">", claimed.Since.Time))
		}).Should(Succeed())
		Consistently(body(shopHost, "/promo")).Should(Equal("current promo"))

		By("giving the route to the moved page once the page that claimed it first goes")
		Expect(k8sClient.Delete(context.Background(), current)).To(Succeed())
		Eventually(body(shopHost, "/promo")).Should(Equal("old page"))

		By("ordering sets the same way")
		olderSet := testSet(uniqueName("older"), "/old/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Namespace, s.Spec.Host = tenantANamespace, shopHost
		})
		Expect(asA.Create(context.Background(), olderSet)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), olderSet))).To(Succeed()) })
		newerSet := testSet(uniqueName("newer"), "/deals/{id}", func(s *pagesv1alpha1.StaticPageSet) {
			s.Namespace, s.Spec.Host = tenantANamespace, shopHost
		})
		Expect(asA.Create(context.Background(), newerSet)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), newerSet))).To(Succeed()) })
		for _, s := range []*pagesv1alpha1.StaticPageSet{olderSet, newerSet} {
			Eventually(func(g Gomega) string { return setCondition(fetchSet(g, s), pagesv1alpha1.ReadyCondition).Reason }).
				Should(Equal(pagesv1alpha1.ReasonServing))
		}
		Eventually(func(g Gomega) {
			got := fetchSet(g, olderSet)
			got.Spec.Route = "/deals/{id}"
			g.Expect(asA.Update(context.Background(), got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(setCondition(fetchSet(g, olderSet), pagesv1alpha1.ReadyCondition)).To(gstruct.MatchFields(gstruct.IgnoreExtras, gstruct.Fields{
				"Reason": Equal(pagesv1alpha1.ReasonConflict), "Message": ContainSubstring(newerSet.Name)}))
		}).Should(Succeed())
		Consistently(func(g Gomega) string { return setCondition(fetchSet(g, newerSet), pagesv1alpha1.ReadyCondition).Reason }).
			Should(Equal(pagesv1alpha1.ReasonServing))
	})

	It("withdraws a host's pages within seconds when its grant is revoked, and serves them again when it is given back", func() {
		p := tenantPage(tenantANamespace, revokedHost, "/", "revocable")
		createAs(asA, p)
		Eventually(body(revokedHost, "/")).Should(Equal("revocable"))

		setGrants := func(hosts string) {
			ns := &corev1.Namespace{}
			Expect(k8sClient.Get(context.Background(), client.ObjectKey{Name: tenantANamespace}, ns)).To(Succeed())
			ns.Annotations[route.HostsAnnotation] = hosts
			Expect(k8sClient.Update(context.Background(), ns)).To(Succeed())
		}
		setGrants(shopHost)
		Eventually(body(revokedHost, "/")).Should(Equal("404"))
		notAllowed(p)
		Consistently(body(revokedHost, "/")).Should(Equal("404"))

		setGrants(shopHost + "," + revokedHost)
		Eventually(body(revokedHost, "/")).Should(Equal("revocable"))
		Eventually(func(g Gomega) metav1.ConditionStatus { return ready(fetch(g, p)).Status }).Should(Equal(metav1.ConditionTrue))
	})
})
