package controllers

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/purge"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/testenv/varnishtest"
)

// cdnNamespace is watched only by the manager and server of the CDN spec.
const cdnNamespace = "isr-cdn"

var _ = Describe("Purging a real Varnish in front of the server", Ordered, func() {
	var (
		varnish *varnishtest.Varnish
		cdn     *pagesv1alpha1.CDN
	)

	BeforeAll(func() {
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(context.Background(),
			testenv.Namespace(cdnNamespace)))).To(Succeed())

		// The server's page port, on loopback, as Varnish's backend and as
		// the replica the purger asks whether it serves new content.
		var pages atomic.Pointer[server.Handler]
		port := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h := pages.Load(); h != nil {
				h.ServeHTTP(w, r)
				return
			}
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}))
		DeferCleanup(port.Close)
		varnish = varnishtest.Start(GinkgoT(), strings.TrimPrefix(port.URL, "http://"))

		mctx, stop := context.WithCancel(context.Background())
		mgr := newManager(cdnNamespace, func(o *Options) {
			o.PurgeServers = []string{port.URL}
			o.PurgeWindow = 50 * time.Millisecond
		})
		srv, err := server.Setup(mctx, mgr, server.Options{
			Cache:                 server.CachePolicy{StaleWhileRevalidate: time.Hour, StaleIfError: time.Hour, OnDemandMaxAge: time.Minute, MaxBodyBytes: testMaxBody},
			CDNTagHeaders:         []string{"xkey"},
			CDNCacheControl:       "max-age=3600",
			CDNCacheControlHeader: server.CDNCacheControl,
		})
		Expect(err).NotTo(HaveOccurred())
		pages.Store(srv.Handler)
		done := make(chan struct{})
		go func() {
			defer GinkgoRecover()
			defer close(done)
			Expect(mgr.Start(mctx)).To(Succeed())
		}()
		DeferCleanup(func() { stop(); <-done })

		cdn = &pagesv1alpha1.CDN{
			ObjectMeta: metav1.ObjectMeta{Namespace: cdnNamespace, Name: "varnish"},
			Spec: pagesv1alpha1.CDNSpec{
				Provider: pagesv1alpha1.ProviderVarnish,
				Varnish:  pagesv1alpha1.VarnishCDN{URLs: []string{varnish.URL}},
			},
		}
		Expect(k8sClient.Create(context.Background(), cdn)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), cdn) })
	})

	// through asks Varnish for path, and says whether it answered from its
	// cache (X-Varnish holds two transaction ids on a hit).
	through := func(g Gomega, path string) (body string, hit bool) {
		resp, err := http.Get(varnish.URL + path)
		g.Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(resp.StatusCode).To(Equal(http.StatusOK), string(b))
		g.Expect(resp.Header.Get("Xkey")).To(BeEmpty(), "the tags stay in Varnish")
		return string(b), len(strings.Fields(resp.Header.Get("X-Varnish"))) == 2
	}

	cdnPage := func(route, body string) (*pagesv1alpha1.StaticPage, *origin) {
		o := newOrigin(body)
		p := newPage(uniqueName("cdn"), route, o.URL, 0)
		p.Namespace = cdnNamespace
		create(p)
		waitRendered(p, body)
		// The purge of its first content comes once every server serves
		// it; a purge landing after Varnish cached the page would evict
		// it, so the spec starts from a purged page.
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.LastPurge.Result).To(Equal(pagesv1alpha1.ReasonPurged))
			g.Expect(got.Status.LastPurge.Digest).To(Equal(got.Status.Digest))
		}).Should(Succeed())
		return p, o
	}

	It("shows a page's new content through Varnish at once, and keeps the other pages cached", func() {
		a, originA := cdnPage("/cdn/a", "a v1")
		_, _ = cdnPage("/cdn/b", "b v1")
		for _, path := range []string{"/cdn/a", "/cdn/b"} {
			Eventually(func(g Gomega) {
				body, hit := through(g, path)
				g.Expect(body).To(HavePrefix(strings.TrimPrefix(path, "/cdn/")))
				g.Expect(hit).To(BeTrue(), "cached by Varnish for its CDN-Cache-Control hour")
			}).Should(Succeed())
		}

		By("annotating a page whose origin changed")
		purgedBefore := testutil.ToFloat64(purgesTotal.WithLabelValues("varnish", pagesv1alpha1.ReasonPurged))
		requestsBefore := testutil.ToFloat64(purgeRequestsTotal.WithLabelValues("varnish", "ok"))
		latenciesBefore, batchesBefore := histogramCount(purgeLatencySeconds, "varnish"), histogramCount(purgeBatchPages, "varnish")
		originA.Set(http.StatusOK, "a v2")
		annotate(a, "cdn-1")
		Eventually(func(g Gomega) {
			body, _ := through(g, "/cdn/a")
			g.Expect(body).To(Equal("a v2"))
		}).WithTimeout(10 * time.Second).Should(Succeed())

		By("the other page is still answered from Varnish's cache")
		Consistently(func(g Gomega) {
			body, hit := through(g, "/cdn/b")
			g.Expect(body).To(Equal("b v1"))
			g.Expect(hit).To(BeTrue())
		}).WithTimeout(time.Second).Should(Succeed())

		By("the metrics count it")
		Eventually(func(g Gomega) {
			g.Expect(testutil.ToFloat64(purgesTotal.WithLabelValues("varnish", pagesv1alpha1.ReasonPurged))).To(BeNumerically(">", purgedBefore))
			g.Expect(testutil.ToFloat64(purgeRequestsTotal.WithLabelValues("varnish", "ok"))).To(BeNumerically(">", requestsBefore))
			g.Expect(histogramCount(purgeLatencySeconds, "varnish")).To(BeNumerically(">", latenciesBefore))
			g.Expect(histogramCount(purgeBatchPages, "varnish")).To(BeNumerically(">", batchesBefore))
			g.Expect(testutil.ToFloat64(purgePendingPages)).To(BeZero())
		}).WithTimeout(10 * time.Second).Should(Succeed())

		By("the page, the CDN and an Event say so")
		Eventually(func(g Gomega) {
			got := fetch(g, a)
			g.Expect(got.Status.LastPurge.Result).To(Equal(pagesv1alpha1.ReasonPurged))
			g.Expect(got.Status.LastPurge.CDN).To(Equal(cdn.Name))
			g.Expect(got.Status.LastPurge.Digest).To(Equal(got.Status.Digest))
			c := &pagesv1alpha1.CDN{}
			g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(cdn), c)).To(Succeed())
			ready := meta.FindStatusCondition(c.Status.Conditions, pagesv1alpha1.ReadyCondition)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(pagesv1alpha1.ReasonPurged))
			evs := &eventsv1.EventList{}
			g.Expect(k8sClient.List(context.Background(), evs, client.InNamespace(cdnNamespace))).To(Succeed())
			g.Expect(evs.Items).To(ContainElement(Satisfy(func(e eventsv1.Event) bool {
				return e.Regarding.Name == a.Name && e.Reason == pagesv1alpha1.ReasonPurged
			})))
		}).Should(Succeed())
	})

	It("purges by URL with purgeBy urls", func() {
		Eventually(func() error {
			c := &pagesv1alpha1.CDN{}
			if err := k8sClient.Get(context.Background(), client.ObjectKeyFromObject(cdn), c); err != nil {
				return err
			}
			c.Spec.PurgeBy = pagesv1alpha1.PurgeByURLs
			return k8sClient.Update(context.Background(), c)
		}).Should(Succeed())
		p, o := cdnPage("/cdn/by-url", "u v1")
		Eventually(func(g Gomega) {
			body, hit := through(g, "/cdn/by-url")
			g.Expect(body).To(Equal("u v1"))
			g.Expect(hit).To(BeTrue())
		}).Should(Succeed())
		o.Set(http.StatusOK, "u v2")
		annotate(p, "cdn-url-1")
		Eventually(func(g Gomega) {
			body, _ := through(g, "/cdn/by-url")
			g.Expect(body).To(Equal("u v2"))
		}).WithTimeout(10 * time.Second).Should(Succeed())
	})

	It("records a page purged only once every CDN covering it acknowledged, and retries the one that did not", func() {
		p, o := cdnPage("/cdn/two", "t v1")
		// A loopback port nothing listens on: every purge is refused.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		closed := "http://" + l.Addr().String()
		Expect(l.Close()).To(Succeed())
		broken := &pagesv1alpha1.CDN{
			ObjectMeta: metav1.ObjectMeta{Namespace: cdnNamespace, Name: "unreachable"},
			Spec: pagesv1alpha1.CDNSpec{
				Provider: pagesv1alpha1.ProviderVarnish,
				Varnish:  pagesv1alpha1.VarnishCDN{URLs: []string{closed}},
			},
		}
		Expect(k8sClient.Create(context.Background(), broken)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), broken) })
		failedBefore := testutil.ToFloat64(purgesTotal.WithLabelValues("varnish", pagesv1alpha1.ReasonPurgeFailed))
		errorsBefore := testutil.ToFloat64(purgeRequestsTotal.WithLabelValues("varnish", "error"))

		By("the new content's purge is pending as soon as it is published")
		o.Set(http.StatusOK, "t v2")
		annotate(p, "cdn-two-1")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.LastHandledRevalidate).To(Equal("cdn-two-1"))
			g.Expect(got.Status.LastPurge.Digest).To(Equal(got.Status.Digest))
			g.Expect(got.Status.LastPurge.Result).NotTo(Equal(pagesv1alpha1.ReasonPurged), "one CDN cannot be reached")
		}).WithTimeout(30 * time.Second).Should(Succeed())

		By("Varnish was purged, the other CDN refused: the page says PurgeFailed, naming it")
		Eventually(func(g Gomega) {
			body, _ := through(g, "/cdn/two")
			g.Expect(body).To(Equal("t v2"))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.LastPurge.Result).To(Equal(pagesv1alpha1.ReasonPurgeFailed))
			g.Expect(got.Status.LastPurge.CDN).To(Equal(broken.Name))
			g.Expect(got.Status.LastPurge.Digest).To(Equal(got.Status.Digest))
			g.Expect(testutil.ToFloat64(purgesTotal.WithLabelValues("varnish", pagesv1alpha1.ReasonPurgeFailed))).To(BeNumerically(">", failedBefore))
			g.Expect(testutil.ToFloat64(purgeRequestsTotal.WithLabelValues("varnish", "error"))).To(BeNumerically(">", errorsBefore))
			g.Expect(testutil.ToFloat64(purgePendingPages)).To(BeNumerically(">=", 1))
		}).WithTimeout(30 * time.Second).Should(Succeed())

		By("once the broken CDN is gone, the retry records the page purged")
		Expect(k8sClient.Delete(context.Background(), broken)).To(Succeed())
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.LastPurge.Result).To(Equal(pagesv1alpha1.ReasonPurged))
			g.Expect(got.Status.LastPurge.CDN).To(Equal(cdn.Name))
			g.Expect(got.Status.LastPurge.Digest).To(Equal(got.Status.Digest))
			g.Expect(testutil.ToFloat64(purgePendingPages)).To(BeZero())
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})
})

// histogramCount is how many observations h holds under label.
func histogramCount(h *prometheus.HistogramVec, label string) uint64 {
	m := &dto.Metric{}
	Expect(h.WithLabelValues(label).(prometheus.Metric).Write(m)).To(Succeed())
	return m.GetHistogram().GetSampleCount()
}

func TestPurgeMetricsLint(t *testing.T) {
	for _, c := range []prometheus.Collector{purgesTotal, purgeRequestsTotal, purgeLatencySeconds, purgeBatchPages, purgePendingPages} {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) > 0 {
			t.Errorf("%v", problems)
		}
	}
}

func TestDedupe(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	change := func(name, digest string, at time.Duration) purge.Change {
		return purge.Change{Namespace: "ns", Name: name, Digest: digest, Published: t0.Add(at)}
	}
	got := dedupe([]purge.Change{
		change("a", "a1", 0),
		change("b", "b2", 2*time.Second),
		change("a", "a2", time.Second),
		// A change put back for a retry after a newer one was queued.
		change("b", "b1", 0),
	})
	want := []purge.Change{change("b", "b2", 2*time.Second), change("a", "a2", time.Second)}
	if len(got) != len(want) {
		t.Fatalf("dedupe = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dedupe = %v, want %v", got, want)
		}
	}
}
