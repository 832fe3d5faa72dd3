package controllers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// flowsS3Namespace is watched only by the object-store manager and server
// of the core flows.
const flowsS3Namespace = "isr-s3-flows"

// A backend is a manager and a server keeping pages in one kind of
// storage, with what the core flows need to look at them.
type backend struct {
	name string
	// start brings the manager and the server up; it runs before the
	// backend's first spec, and what it starts ends with its container.
	start func(b *backend)

	// namespace is the one the manager and the server watch.
	namespace string
	// serve asks the server for host and path.
	serve func(host, path string, hdr ...string) *httptest.ResponseRecorder
	// store reads what the manager stored, as the server does.
	store storage.Reader
	// revalidations counts the server's re-render requests.
	revalidations *testenv.Revalidator
	// withdrawn checks that a withdrawn page's content is no longer kept
	// for it; nil where content-addressed objects are left to the sweep.
	withdrawn func(g Gomega, p *pagesv1alpha1.StaticPage)
}

// stored is the body b holds for p at digest.
func (b *backend) stored(g Gomega, p *pagesv1alpha1.StaticPage, digest string) string {
	obj, err := b.store.Get(context.Background(), fetch(g, p), digest)
	g.Expect(err).NotTo(HaveOccurred())
	body, err := obj.Body(0)
	g.Expect(err).NotTo(HaveOccurred())
	return string(body)
}

// page is a new StaticPage in b's namespace.
func (b *backend) page(prefix, route, url string, revalidate time.Duration) *pagesv1alpha1.StaticPage {
	p := newPage(uniqueName(prefix), route, url, revalidate)
	p.Namespace = b.namespace
	return p
}

// backends are the storage the core flows run on: ConfigMaps, with the
// suite's manager and server, and a real S3 server (versitygw).
var backends = []*backend{
	{
		name: storage.BackendConfigMap,
		start: func(b *backend) {
			b.namespace, b.serve, b.revalidations = testNamespace, get, revalidations
			b.store = &storage.ConfigMaps{Client: k8sClient, Scheme: kube.Scheme()}
			b.withdrawn = func(g Gomega, p *pagesv1alpha1.StaticPage) {
				err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: p.Namespace, Name: storage.ConfigMapName(p)}, &corev1.ConfigMap{})
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the ConfigMap goes with the content")
			}
		},
	},
	{
		name: storage.BackendS3,
		start: func(b *backend) {
			store := testenv.StartStore()
			b.namespace = flowsS3Namespace
			Expect(k8sClient.Create(context.Background(), testenv.Namespace(b.namespace))).To(Succeed())
			s3opts := s3Options(store)
			srv := startS3Manager(b.namespace, s3opts, func(*Options) {})
			b.revalidations = &testenv.Revalidator{Next: srv.Revalidator}
			srv.Handler.Revalidator = b.revalidations
			b.serve = serveWith(srv.Handler)
			reader, err := storage.NewS3(context.Background(), s3opts)
			Expect(err).NotTo(HaveOccurred())
			b.store = reader
		},
	},
}

// startS3Manager starts, until the container ends, a manager running the
// controller on the object store s3opts names in namespace, with a server
// in the same process reading it, and returns the server once it is ready.
func startS3Manager(namespace string, s3opts storage.S3Options, tweak func(*Options)) *server.Server {
	mgr := newManager(namespace, func(o *Options) {
		o.Storage, o.S3 = storage.BackendS3, s3opts
		tweak(o)
	})
	sopts := server.DefaultOptions()
	sopts.ListenAddress = ""
	sopts.Storage, sopts.S3 = storage.BackendS3, s3opts
	sopts.Cache = server.CachePolicy{StaleWhileRevalidate: time.Hour, StaleIfError: time.Hour, OnDemandMaxAge: time.Minute, MaxBodyBytes: testMaxBody}
	mctx, stop := context.WithCancel(context.Background())
	DeferCleanup(stop)
	srv, err := server.Setup(mctx, mgr, sopts)
	Expect(err).NotTo(HaveOccurred())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	Eventually(func() error { return srv.Sync.Ready(nil) }).WithTimeout(30 * time.Second).Should(Succeed())
	return srv
}

// serveWith asks h for host and path, as get asks the suite's server.
func serveWith(h http.Handler) func(host, path string, hdr ...string) *httptest.ResponseRecorder {
	return func(host, path string, hdr ...string) *httptest.ResponseRecorder {
		return testenv.Serve(h, host, path, hdr...)
	}
}

// The core flows, the same specs on every backend: what a user sees does
// not depend on where pages are kept.
var _ = Describe("core flows", func() {
	for _, b := range backends {
		Describe("with pages in "+b.name, Ordered, func() {
			BeforeAll(func() { b.start(b) })
			BeforeEach(func() {
				SetDefaultEventuallyTimeout(20 * time.Second)
				SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
				SetDefaultConsistentlyDuration(2 * time.Second)
			})

			It("renders a page, serves it, and stops serving it once deleted", func() {
				o := newOrigin("<h1>hello</h1>")
				p := b.page("create", "/flows/hello", o.URL+"/hello", time.Hour)
				create(p)

				got := waitRendered(p, "<h1>hello</h1>")
				Expect(got.Status.Size).To(BeEquivalentTo(len("<h1>hello</h1>")))
				Expect(got.Status.ContentType).To(Equal("text/html; charset=utf-8"))
				Expect(got.Status.RenderedAt).NotTo(BeNil())
				Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
				Expect(ready(got).Reason).To(Equal(pagesv1alpha1.ReasonRendered))
				Eventually(func(g Gomega) { g.Expect(b.stored(g, p, got.Status.Digest)).To(Equal("<h1>hello</h1>")) }).Should(Succeed())
				Eventually(func(g Gomega) { g.Expect(eventReasons(g, p)).To(ContainElement(pagesv1alpha1.ReasonRendered)) }).Should(Succeed())
				Expect(o.Count()).To(Equal(1))

				By("serving it")
				Eventually(func(g Gomega) {
					rec := b.serve("any.example", "/flows/hello")
					g.Expect(rec.Code).To(Equal(http.StatusOK))
					g.Expect(rec.Body.String()).To(Equal("<h1>hello</h1>"))
					g.Expect(rec.Header().Get("Cache-Status")).To(HavePrefix("isr-operator; hit; ttl="))
					g.Expect(rec.Header().Get("Cache-Control")).To(ContainSubstring("s-maxage=3600"))
				}).Should(Succeed())

				By("withdrawing the route when the page is deleted")
				Expect(k8sClient.Delete(context.Background(), p)).To(Succeed())
				Eventually(func() int { return b.serve("any.example", "/flows/hello").Code }).Should(Equal(http.StatusNotFound))
			})

			It("re-renders every interval", func() {
				o := newOrigin("tick")
				o.SetCounting(true)
				p := b.page("interval", "/flows/tick", o.URL, time.Second)
				create(p)
				Eventually(o.Count).Should(BeNumerically(">=", 3))

				By("rendering no more often than every interval")
				// Renders counted over a window of several intervals: at most
				// one per interval it spans, and one at each end. The window
				// is measured, so a slow machine widens the bound with it.
				start, before := time.Now(), o.Count()
				Eventually(o.Count).Should(BeNumerically(">=", before+5))
				renders, window := o.Count()-before, time.Since(start)
				Expect(renders).To(BeNumerically("<=", int(window/time.Second)+2), "renders in %s at a 1s interval", window)
				Eventually(func(g Gomega) {
					got := fetch(g, p)
					g.Expect(got.Status.Digest).NotTo(Equal(digest.Of([]byte("tick #1"))))
					g.Expect(b.stored(g, p, got.Status.Digest)).To(MatchRegexp(`^tick #[2-9]`))
				}).Should(Succeed())
				Eventually(func() string { return b.serve("x", "/flows/tick").Body.String() }).Should(MatchRegexp(`^tick #[2-9]`))
			})

			It("re-renders on a new revalidate annotation and echoes it", func() {
				o := newOrigin("v1")
				p := b.page("annotate", "/flows/annotate", o.URL, 0)
				create(p)
				waitRendered(p, "v1")

				o.Set(http.StatusOK, "v2")
				annotate(p, "1763900000")
				Eventually(func(g Gomega) {
					got := fetch(g, p)
					g.Expect(got.Status.LastHandledRevalidate).To(Equal("1763900000"))
					g.Expect(got.Status.Digest).To(Equal(digest.Of([]byte("v2"))))
				}).Should(Succeed())
				Eventually(func() string { return b.serve("x", "/flows/annotate").Body.String() }).Should(Equal("v2"))
				Consistently(o.Count).Should(Equal(2), "an on-demand page is rendered only when asked")
			})

			It("keeps the last good page when the origin fails, backs off, and recovers", func() {
				o := newOrigin("good")
				p := b.page("failing", "/flows/failing", o.URL, 0)
				create(p)
				good := waitRendered(p, "good")
				Eventually(func() string { return b.serve("x", "/flows/failing").Body.String() }).Should(Equal("good"))

				o.Set(http.StatusInternalServerError, "<h1>500 oops</h1>")
				annotate(p, "break")
				Eventually(func(g Gomega) {
					got := fetch(g, p)
					g.Expect(ready(got).Status).To(Equal(metav1.ConditionFalse))
					g.Expect(ready(got).Reason).To(Equal(pagesv1alpha1.ReasonOriginError))
					g.Expect(ready(got).Message).To(ContainSubstring("500"))
					g.Expect(ready(got).Message).To(ContainSubstring("still serving"))
					g.Expect(got.Status.Digest).To(Equal(good.Status.Digest))
				}).Should(Succeed())
				Expect(b.stored(Default, p, good.Status.Digest)).To(Equal("good"))
				Consistently(func() string { return b.serve("x", "/flows/failing").Body.String() }, time.Second).Should(Equal("good"))
				Eventually(func(g Gomega) { g.Expect(eventReasons(g, p)).To(ContainElement(pagesv1alpha1.ReasonOriginError)) }).Should(Succeed())

				By("retrying with a growing delay")
				Eventually(o.Count).Should(BeNumerically(">=", 4))
				// 100ms doubling to a 1s cap: a few retries in 2s; without
				// backoff, hundreds.
				before := o.Count()
				Consistently(func() int { return o.Count() - before }, 2*time.Second).Should(BeNumerically("<=", 5))

				By("recovering when the origin answers again")
				o.Set(http.StatusOK, "fixed")
				Eventually(func(g Gomega) {
					got := fetch(g, p)
					g.Expect(ready(got).Status).To(Equal(metav1.ConditionTrue))
					g.Expect(got.Status.Digest).To(Equal(digest.Of([]byte("fixed"))))
					g.Expect(got.Status.LastHandledRevalidate).To(Equal("break"))
				}).Should(Succeed())
				Eventually(func() string { return b.serve("x", "/flows/failing").Body.String() }).Should(Equal("fixed"))
				Eventually(func(g Gomega) { g.Expect(eventReasons(g, p)).To(ContainElement(pagesv1alpha1.EventRecovered)) }).Should(Succeed())
			})

			It("withdraws a page the origin says is gone, and serves it again when it is back", func() {
				o := newOrigin("here")
				p := b.page("withdrawn", "/flows/withdrawn", o.URL, 0)
				create(p)
				waitRendered(p, "here")
				Eventually(func() int { return b.serve("x", "/flows/withdrawn").Code }).Should(Equal(http.StatusOK))

				o.Set(http.StatusNotFound, "<h1>not found</h1>")
				annotate(p, "gone")
				Eventually(func(g Gomega) {
					got := fetch(g, p)
					g.Expect(ready(got).Reason).To(Equal(pagesv1alpha1.ReasonWithdrawn))
					g.Expect(got.Status.Digest).To(BeEmpty())
					g.Expect(got.Status.LastHandledRevalidate).To(Equal("gone"))
					if b.withdrawn != nil {
						b.withdrawn(g, got)
					}
				}).Should(Succeed())
				Eventually(func() int { return b.serve("x", "/flows/withdrawn").Code }).Should(Equal(http.StatusNotFound))

				o.Set(http.StatusOK, "back")
				annotate(p, "back")
				waitRendered(p, "back")
				Eventually(func() string { return b.serve("x", "/flows/withdrawn").Body.String() }).Should(Equal("back"))
			})

			It("serves a stale OnRequest page at once and sends one re-render request per stale rendition", func() {
				o := newOrigin("lazy")
				o.SetCounting(true)
				p := b.page("onrequest", "/flows/lazy", o.URL, 2*time.Second)
				p.Spec.RevalidateMode = pagesv1alpha1.RevalidateOnRequest
				create(p)
				waitRendered(p, "lazy #1")
				Eventually(func() string { return b.serve("x", "/flows/lazy").Body.String() }).Should(Equal("lazy #1"))
				Consistently(o.Count, 3*time.Second).Should(Equal(1), "an OnRequest page is not re-rendered by time alone")
				stale := b.serve("x", "/flows/lazy")
				Expect(stale.Header().Get("Cache-Status")).To(ContainSubstring("detail=stale"))
				Expect(stale.Body.String()).To(Equal("lazy #1"))

				By("hitting the stale page from many clients at once")
				var wg sync.WaitGroup
				for range 100 {
					wg.Go(func() {
						defer GinkgoRecover()
						rec := b.serve("x", "/flows/lazy")
						Expect(rec.Code).To(Equal(http.StatusOK))
						Expect(rec.Body.String()).To(HavePrefix("lazy #"), "stale hits are served at once")
					})
				}
				wg.Wait()
				Eventually(func() string { return b.serve("x", "/flows/lazy").Body.String() }).Should(Equal("lazy #2"))
				name := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
				Expect(b.revalidations.Tokens(name)).To(HaveLen(1))
				Expect(o.Count()).To(Equal(2))
				got := fetch(Default, p)
				Expect(got.Status.LastHandledRevalidate).To(Equal(b.revalidations.Tokens(name)[0]))
				Expect(got.Annotations[pagesv1alpha1.RevalidateAnnotation]).To(HavePrefix("stale-"))
			})
		})
	}
})
