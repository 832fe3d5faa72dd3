package revalidateapi_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/controllers"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/testenv/varnishtest"
)

// cdnNamespace holds the pages of the stack behind a real Varnish.
const cdnNamespace = "isr-webhook-cdn"

// With a CDN in front, a call with wait answers once visitors of the CDN
// get the new content: the CDN acknowledged its purge.
var _ = Describe("POST /revalidate with wait behind a CDN", Ordered, func() {
	var (
		st      *stack
		varnish *varnishtest.Varnish
	)

	BeforeAll(func() {
		// The server's page port on loopback: Varnish's backend, and the
		// replica the purger asks whether it serves new content.
		var pagesHandler atomic.Pointer[server.Handler]
		port := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h := pagesHandler.Load(); h != nil {
				h.ServeHTTP(w, r)
				return
			}
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}))
		DeferCleanup(port.Close)
		varnish = varnishtest.Start(GinkgoT(), strings.TrimPrefix(port.URL, "http://"))

		Expect(k8sClient.Create(context.Background(), testenv.Namespace(cdnNamespace))).To(Succeed())
		st = assemble(cdnNamespace, storage.BackendConfigMap, storage.S3Options{}, func(c *controllers.Options, s *server.Options) {
			c.PurgeServers = []string{port.URL}
			c.PurgeWindow = 50 * time.Millisecond
			s.CDNTagHeaders = []string{"xkey"}
			s.CDNCacheControl = "max-age=3600"
			s.CDNCacheControlHeader = server.CDNCacheControl
		})
		DeferCleanup(func() { st.api.Close(); st.stop() })
		pagesHandler.Store(st.pages)
		createCDN("varnish", varnish.URL)
	})

	BeforeEach(func() {
		SetDefaultEventuallyTimeout(30 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	// through is what a visitor of Varnish gets for path, and whether
	// Varnish answered from its cache (X-Varnish holds two ids on a hit).
	through := func(g Gomega, path string) (string, bool) {
		resp, err := http.Get(varnish.URL + path)
		g.Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		g.Expect(err).NotTo(HaveOccurred())
		return string(b), len(strings.Fields(resp.Header.Get("X-Varnish"))) == 2
	}

	It("answers once Varnish, holding the page for an hour, shows the new content", func() {
		p, o := pageIn(cdnNamespace, "/cdn/live", "", nil)
		// The purge of the first content evicts whatever Varnish cached
		// before it; the spec starts once it is done.
		Eventually(func(g Gomega) {
			got := get(g, p)
			g.Expect(got.Status.LastPurge.Result).To(Equal(pagesv1alpha1.ReasonPurged))
			g.Expect(got.Status.LastPurge.Digest).To(Equal(got.Status.Digest))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			body, hit := through(g, "/cdn/live")
			g.Expect(body).To(Equal("v1 of /cdn/live"))
			g.Expect(hit).To(BeTrue())
		}).Should(Succeed())

		o.Set(http.StatusOK, "v2 of /cdn/live")
		got := bearer(`{"paths": ["/cdn/live"], "wait": true}`).to(st.api).do()
		Expect(got.code).To(Equal(http.StatusOK), got.raw)
		Expect(*got.resp.Pages[0].Live).To(BeTrue())
		Expect(got.resp.Pages[0].Purged).NotTo(BeNil(), got.raw)
		Expect(*got.resp.Pages[0].Purged).To(BeTrue())
		// No Eventually: the call returned only once this was true.
		body, _ := through(Default, "/cdn/live")
		Expect(body).To(Equal("v2 of /cdn/live"))
	})

	It("says the purge is not acknowledged while a CDN does not answer", func() {
		// A loopback port nothing listens on: every purge is refused.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		closed := "http://" + l.Addr().String()
		Expect(l.Close()).To(Succeed())
		createCDN("unreachable", closed)

		_, o := pageIn(cdnNamespace, "/cdn/refused", "", nil)
		Eventually(func() string { return servedFrom(st.pages, "x", "/cdn/refused") }).Should(Equal("v1 of /cdn/refused"))
		o.Set(http.StatusOK, "v2 of /cdn/refused")
		got := bearer(`{"paths": ["/cdn/refused"], "wait": true, "timeout": "2s"}`).to(st.api).do()
		Expect(got.code).To(Equal(http.StatusGatewayTimeout), got.raw)
		res := got.resp.Pages[0]
		Expect(*res.Live).To(BeTrue(), "this server serves it")
		Expect(res.Purged).NotTo(BeNil(), got.raw)
		Expect(*res.Purged).To(BeFalse())
		Expect(res.Reason).To(BeElementOf(pagesv1alpha1.ReasonPurgePending, pagesv1alpha1.ReasonPurgeFailed))
		Expect(res.Message).NotTo(BeEmpty())
	})
})

// createCDN creates a Varnish CDN object in cdnNamespace purging url,
// deleted when the spec ends.
func createCDN(name, url string) {
	cdn := &pagesv1alpha1.CDN{
		ObjectMeta: metav1.ObjectMeta{Namespace: cdnNamespace, Name: name},
		Spec: pagesv1alpha1.CDNSpec{
			Provider: pagesv1alpha1.ProviderVarnish,
			Varnish:  pagesv1alpha1.VarnishCDN{URLs: []string{url}},
		},
	}
	Expect(k8sClient.Create(context.Background(), cdn)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), cdn) })
}
