package controllers

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

// Namespaces of the fair rendering specs: tenant a's origin hangs, tenant
// b's answers.
const (
	tarpitNamespace = "fair-a"
	quietNamespace  = "fair-b"
)

var _ = Describe("fair rendering between namespaces", Ordered, func() {
	BeforeEach(func() {
		SetDefaultEventuallyTimeout(20 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	BeforeAll(func() {
		for _, ns := range []string{tarpitNamespace, quietNamespace} {
			Expect(k8sClient.Create(context.Background(), testenv.Namespace(ns))).To(Succeed())
		}
	})

	It("renders another namespace's page while 8 pages of one namespace hang on a tarpit", func() {
		tarpit, err := testorigin.NewTarpit()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(tarpit.Close)
		// The default workers (4) and per-namespace cap (half of them),
		// and no per-host cap: both namespaces' origins are on 127.0.0.1,
		// so only the per-namespace cap keeps b's page from waiting.
		mgr := newManagerFor([]string{tarpitNamespace, quietNamespace}, func(o *Options) {
			o.MaxConcurrentRendersPerHost = 0
			o.MaxConcurrentRendersPerNamespace = 0
		})
		mctx, stop := context.WithCancel(context.Background())
		DeferCleanup(stop)
		go func() {
			defer GinkgoRecover()
			Expect(mgr.Start(mctx)).To(Succeed())
		}()

		var stuck []*pagesv1alpha1.StaticPage
		for i := range 8 {
			p := newPage(uniqueName("tarpit"), fmt.Sprintf("/tarpit/%d", i), fmt.Sprintf("%s/%d", tarpit.URL, i), 0)
			p.Namespace = tarpitNamespace
			// The renders must not time out while the spec looks at them.
			p.Spec.Origin.Timeout = &metav1.Duration{Duration: time.Minute}
			create(p)
			stuck = append(stuck, p)
		}
		By("filling namespace a's share of the workers with hung renders")
		Eventually(tarpit.Open).Should(Equal(DefaultOptions().RendersPerNamespace()))

		By("rendering namespace b's page while they hang")
		quiet := newOrigin("quiet")
		q := newPage(uniqueName("quiet"), "/quiet", quiet.URL, 0)
		q.Namespace = quietNamespace
		create(q)
		waitRendered(q, "quiet")

		By("no hung render has ended yet: b's page did not wait for them")
		Expect(tarpit.Accepted()).To(Equal(DefaultOptions().RendersPerNamespace()))
		Expect(tarpit.Open()).To(Equal(DefaultOptions().RendersPerNamespace()))
		for _, p := range stuck {
			Expect(fetch(Default, p).Status.RenderedAt).To(BeNil(), "%s rendered from a tarpit", p.Name)
		}
	})
})
