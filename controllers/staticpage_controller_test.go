package controllers

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

// restartNamespace is watched only by the managers of the restart spec.
const restartNamespace = "isr-restart"

func newPage(name, route, url string, revalidate time.Duration) *pagesv1alpha1.StaticPage {
	p := &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name},
		Spec: pagesv1alpha1.StaticPageSpec{
			Route:  route,
			Origin: pagesv1alpha1.Origin{URL: url},
		},
	}
	if revalidate > 0 {
		p.Spec.Revalidate = &metav1.Duration{Duration: revalidate}
	}
	return p
}

// create makes the page and deletes it when the spec ends, so no page
// outlives its origin.
func create(p *pagesv1alpha1.StaticPage) {
	Expect(k8sClient.Create(context.Background(), p)).To(Succeed())
	DeferCleanup(func() {
		Expect(client.IgnoreNotFound(k8sClient.Delete(context.Background(), p))).To(Succeed())
	})
}

func fetch(g Gomega, p *pagesv1alpha1.StaticPage) *pagesv1alpha1.StaticPage {
	out := &pagesv1alpha1.StaticPage{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(p), out)).To(Succeed())
	return out
}

func ready(p *pagesv1alpha1.StaticPage) *metav1.Condition {
	return meta.FindStatusCondition(p.Status.Conditions, pagesv1alpha1.ReadyCondition)
}

func pageConfigMap(g Gomega, p *pagesv1alpha1.StaticPage) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(context.Background(), types.NamespacedName{Namespace: p.Namespace, Name: storage.ConfigMapName(p)}, cm)).To(Succeed())
	return cm
}

func storedBody(g Gomega, cm *corev1.ConfigMap) string {
	zr, err := gzip.NewReader(bytes.NewReader(cm.BinaryData[storage.BodyKey]))
	g.Expect(err).NotTo(HaveOccurred())
	b, err := io.ReadAll(zr)
	g.Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// setSpec changes p's spec with change, retrying on conflicts.
func setSpec(p *pagesv1alpha1.StaticPage, change func(*pagesv1alpha1.StaticPage)) {
	EventuallyWithOffset(1, func(g Gomega) {
		got := fetch(g, p)
		change(got)
		g.Expect(k8sClient.Update(context.Background(), got)).To(Succeed())
	}).Should(Succeed())
}

func annotate(p *pagesv1alpha1.StaticPage, value string) {
	patch := []byte(`{"metadata":{"annotations":{"` + pagesv1alpha1.RevalidateAnnotation + `":"` + value + `"}}}`)
	Expect(k8sClient.Patch(context.Background(), p, client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}

// waitRendered waits until p is Ready and serves body, and returns it.
func waitRendered(p *pagesv1alpha1.StaticPage, body string) *pagesv1alpha1.StaticPage {
	var out *pagesv1alpha1.StaticPage
	Eventually(func(g Gomega) {
		out = fetch(g, p)
		g.Expect(ready(out)).NotTo(BeNil())
		g.Expect(ready(out).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(out.Status.Digest).To(Equal(digest.Of([]byte(body))))
	}).Should(Succeed())
	return out
}

func eventReasons(g Gomega, p *pagesv1alpha1.StaticPage) []string {
	list := &eventsv1.EventList{}
	g.Expect(k8sClient.List(context.Background(), list, client.InNamespace(p.Namespace))).To(Succeed())
	var reasons []string
	for _, e := range list.Items {
		if e.Regarding.Name == p.Name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

var _ = Describe("StaticPage controller", func() {
	ctx := context.Background()

	BeforeEach(func() {
		SetDefaultEventuallyTimeout(20 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
		SetDefaultConsistentlyDuration(2 * time.Second)
	})

	It("renders a new page into an owned, labelled ConfigMap and reports Ready", func() {
		o := newOrigin("<h1>hello</h1>")
		p := newPage(uniqueName("create"), "/hello", o.URL+"/hello", time.Hour)
		create(p)

		got := waitRendered(p, "<h1>hello</h1>")
		Expect(got.Status.Size).To(BeEquivalentTo(len("<h1>hello</h1>")))
		Expect(got.Status.ContentType).To(Equal("text/html; charset=utf-8"))
		Expect(got.Status.RenderedAt).NotTo(BeNil())
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(got.Spec.RevalidateMode).To(Equal(pagesv1alpha1.RevalidateInterval), "the API server applies the default mode")
		Expect(ready(got).Reason).To(Equal(pagesv1alpha1.ReasonRendered))

		Eventually(func(g Gomega) {
			cm := pageConfigMap(g, p)
			g.Expect(storedBody(g, cm)).To(Equal("<h1>hello</h1>"))
			g.Expect(cm.Labels).To(HaveKeyWithValue(storage.ComponentLabel, storage.ComponentPage))
			g.Expect(cm.Annotations).To(HaveKeyWithValue(storage.DigestAnnotation, got.Status.Digest))
			g.Expect(metav1.IsControlledBy(cm, got)).To(BeTrue(), "the ConfigMap is garbage-collected with its page")
		}).Should(Succeed())
		Eventually(func(g Gomega) { g.Expect(eventReasons(g, p)).To(ContainElement(pagesv1alpha1.ReasonRendered)) }).Should(Succeed())
		Expect(o.Count()).To(Equal(1))
	})

	It("publishes a page again at once when its ConfigMap is deleted by hand", func() {
		o := newOrigin("kept")
		p := newPage(uniqueName("deleted-cm"), "/deleted-cm", o.URL, 0)
		create(p)
		waitRendered(p, "kept")
		cm := pageConfigMap(Default, p)
		Expect(k8sClient.Delete(context.Background(), cm)).To(Succeed())
		Eventually(func(g Gomega) {
			again := pageConfigMap(g, p)
			g.Expect(again.UID).NotTo(Equal(cm.UID))
			g.Expect(storedBody(g, again)).To(Equal("kept"))
		}).Should(Succeed())
		Eventually(func() string { return get("x", "/deleted-cm").Body.String() }).Should(Equal("kept"))
	})

	It("does not rewrite storage when the content is unchanged", func() {
		o := newOrigin("same")
		p := newPage(uniqueName("unchanged"), "/same", o.URL, 0)
		create(p)
		first := waitRendered(p, "same")
		var rv string
		Eventually(func(g Gomega) { rv = pageConfigMap(g, p).ResourceVersion }).Should(Succeed())

		// Let the clock pass the stored second, so a rewrite would differ
		// (its stored-at stamp) and show in the resourceVersion.
		Eventually(func() int64 { return time.Now().Unix() }).Should(BeNumerically(">", first.Status.RenderedAt.Unix()))
		annotate(p, "again")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.LastHandledRevalidate).To(Equal("again"))
			g.Expect(got.Status.RenderedAt.Time).To(BeTemporally(">", first.Status.RenderedAt.Time), "status records the render")
		}).Should(Succeed())
		Expect(o.Count()).To(Equal(2))
		Consistently(func(g Gomega) {
			g.Expect(pageConfigMap(g, p).ResourceVersion).To(Equal(rv))
		}, time.Second).Should(Succeed())
	})

	It("refuses an origin on a forbidden address and keeps the last good page", func() {
		o := newOrigin("trusted")
		p := newPage(uniqueName("guarded"), "/guarded", o.URL, 0)
		create(p)
		good := waitRendered(p, "trusted")

		// The refused addresses lead, through this host, to the page's own
		// origin: were the guard to let one through, the render would
		// succeed and the spec fail, and no request would leave the host.
		// (The guard's refusal of link-local addresses, the cloud metadata
		// endpoint's, is tested in a network namespace in internal/render.)
		_, port, _ := strings.Cut(strings.TrimPrefix(o.URL, "http://"), ":")
		By("pointing the page at the unspecified address")
		got := fetch(Default, p)
		got.Spec.Origin.URL = "http://0.0.0.0:" + port + "/"
		Expect(k8sClient.Update(context.Background(), got)).To(Succeed())
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(ready(got).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready(got).Reason).To(Equal(pagesv1alpha1.ReasonOriginRefused))
			g.Expect(ready(got).Message).To(ContainSubstring("0.0.0.0 is an unspecified address"))
			g.Expect(ready(got).Message).To(ContainSubstring("--allow-origin"))
			g.Expect(got.Status.Digest).To(Equal(good.Status.Digest))
		}).Should(Succeed())
		Expect(storedBody(Default, pageConfigMap(Default, p))).To(Equal("trusted"))
		Eventually(func() string { return get("x", "/guarded").Body.String() }).Should(Equal("trusted"))

		By("refusing a new page on a loopback address that is not allowed")
		other := newPage(uniqueName("loopback"), "/loopback", "http://127.0.0.2:"+port+"/", 0)
		create(other)
		Eventually(func(g Gomega) {
			got := fetch(g, other)
			g.Expect(ready(got)).NotTo(BeNil())
			g.Expect(ready(got).Reason).To(Equal(pagesv1alpha1.ReasonOriginRefused))
			g.Expect(ready(got).Message).To(ContainSubstring("127.0.0.2 is a loopback address"))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			err := k8sClient.Get(context.Background(), types.NamespacedName{Namespace: other.Namespace, Name: storage.ConfigMapName(other)}, &corev1.ConfigMap{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "a refused origin stores nothing")
			g.Expect(get("x", "/loopback").Code).To(Equal(http.StatusNotFound))
		}).Should(Succeed())
	})

	It("renders at most the per-host cap at once from one origin, and other hosts meanwhile", func() {
		busy := newOrigin("busy")
		release := busy.Hold()
		quiet := testorigin.NewAt(otherHostIP, "quiet")
		// Another port of the busy host's address is the same host.
		busyPort := newOrigin("busy, another port")
		deferred := counterValue("isr_renders_deferred_total")
		var pages []*pagesv1alpha1.StaticPage
		for i := range 8 {
			p := newPage(uniqueName("busy"), fmt.Sprintf("/busy/%d", i), busy.URL, 0)
			// Held renders must not time out while the spec looks at them.
			p.Spec.Origin.Timeout = &metav1.Duration{Duration: 10 * time.Minute}
			create(p)
			pages = append(pages, p)
		}

		By("filling the busy host up to its cap")
		Eventually(busy.InFlight).Should(Equal(testMaxPerHost))

		By("rendering a page of another host while the busy one is full")
		q := newPage(uniqueName("quiet"), "/quiet", quiet.URL, 0)
		create(q)
		waitRendered(q, "quiet")

		By("putting off a page on another port of the busy host's address")
		other := newPage(uniqueName("busy-port"), "/busy-port", busyPort.URL, 0)
		create(other)
		Consistently(busyPort.Count).WithTimeout(500 * time.Millisecond).Should(BeZero())

		By("putting the other pages off without failing them or touching their status")
		Eventually(func() float64 { return counterValue("isr_renders_deferred_total") }).Should(BeNumerically(">", deferred))
		versions := map[string]string{}
		Eventually(func(g Gomega) {
			for _, p := range pages {
				got := fetch(g, p)
				g.Expect(ready(got)).NotTo(BeNil())
				g.Expect(ready(got).Reason).To(Equal(pagesv1alpha1.ReasonRendering))
				versions[p.Name] = got.ResourceVersion
			}
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(busy.InFlight()).To(BeNumerically("<=", testMaxPerHost))
			for _, p := range pages {
				g.Expect(fetch(g, p).ResourceVersion).To(Equal(versions[p.Name]), "status of %s", p.Name)
			}
		}).Should(Succeed())

		By("rendering every page once the host answers, never more than the cap at once")
		release()
		for _, p := range pages {
			waitRendered(p, "busy")
		}
		waitRendered(other, "busy, another port")
		Expect(busy.Count()).To(BeNumerically(">=", 8))
		Expect(busy.Peak()).To(BeNumerically("<=", testMaxPerHost), "renders in flight on one host")
	})

	// Each entry breaks a rendered page's next render in one way; whatever
	// the way, the last good page stays stored and served, and Ready says
	// why in terms a user can act on.
	DescribeTable("keeps the last good page when a render fails",
		func(breakIt func(o *origin, p *pagesv1alpha1.StaticPage), reason string, message ...string) {
			o := newOrigin("good")
			route := "/" + uniqueName("broken")
			p := newPage(strings.TrimPrefix(route, "/"), route, o.URL, 0)
			create(p)
			good := waitRendered(p, "good")

			breakIt(o, p)
			Eventually(func(g Gomega) {
				got := fetch(g, p)
				g.Expect(ready(got).Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready(got).Reason).To(Equal(reason))
				for _, m := range message {
					g.Expect(ready(got).Message).To(ContainSubstring(m))
				}
				g.Expect(ready(got).Message).To(ContainSubstring("still serving"))
				g.Expect(got.Status.Digest).To(Equal(good.Status.Digest))
				g.Expect(got.Status.LastHandledRevalidate).NotTo(Equal("break"), "a failed render handles no request")
			}).Should(Succeed())
			Expect(storedBody(Default, pageConfigMap(Default, p))).To(Equal("good"))
			Eventually(func() string { return get("x", route).Body.String() }).Should(Equal("good"))
			Eventually(func(g Gomega) { g.Expect(eventReasons(g, p)).To(ContainElement(reason)) }).Should(Succeed())
		},
		Entry("the origin times out", func(o *origin, p *pagesv1alpha1.StaticPage) {
			setSpec(p, func(sp *pagesv1alpha1.StaticPage) {
				sp.Spec.Origin.Timeout = &metav1.Duration{Duration: 300 * time.Millisecond}
			})
			o.Set(http.StatusOK, "after")
			o.SetDelay(5 * time.Second)
			annotate(p, "break")
		}, pagesv1alpha1.ReasonOriginTimeout, "did not answer in time"),
		// A 4xx other than 404/410 is a failure, not a page: its body would
		// pass every other check, so only the status keeps it out.
		Entry("the origin answers 403", func(o *origin, p *pagesv1alpha1.StaticPage) {
			o.Set(http.StatusForbidden, "<h1>forbidden</h1>")
			annotate(p, "break")
		}, pagesv1alpha1.ReasonOriginError, "403 Forbidden"),
		Entry("the origin answers 429", func(o *origin, p *pagesv1alpha1.StaticPage) {
			o.Set(http.StatusTooManyRequests, "<h1>slow down</h1>")
			annotate(p, "break")
		}, pagesv1alpha1.ReasonOriginError, "429 Too Many Requests"),
		Entry("the origin redirects to a forbidden address", func(o *origin, p *pagesv1alpha1.StaticPage) {
			// A loopback address other than the allowed 127.0.0.1, on the
			// origin's port: a guard that let it through would render.
			_, port, _ := strings.Cut(strings.TrimPrefix(o.URL, "http://"), ":")
			o.Set(http.StatusOK, "after")
			redirector := httptest.NewServer(http.RedirectHandler("http://127.0.0.2:"+port+"/", http.StatusFound))
			DeferCleanup(redirector.Close)
			setSpec(p, func(sp *pagesv1alpha1.StaticPage) { sp.Spec.Origin.URL = redirector.URL + "/" })
		}, pagesv1alpha1.ReasonOriginRefused, "127.0.0.2 is a loopback address"),
		Entry("the origin redirects too often", func(_ *origin, p *pagesv1alpha1.StaticPage) {
			loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, r.URL.Path, http.StatusFound)
			}))
			DeferCleanup(loop.Close)
			setSpec(p, func(sp *pagesv1alpha1.StaticPage) { sp.Spec.Origin.URL = loop.URL + "/again" })
		}, pagesv1alpha1.ReasonOriginError, "too many redirects", "--max-redirects"),
		Entry("the origin answers a content type that is not allowed", func(o *origin, p *pagesv1alpha1.StaticPage) {
			o.SetContentType("application/octet-stream")
			o.Set(http.StatusOK, "\x00\x01binary")
			annotate(p, "break")
		}, pagesv1alpha1.ReasonContentTypeRefused, "application/octet-stream"),
		Entry("the origin sends a body over the size cap", func(o *origin, p *pagesv1alpha1.StaticPage) {
			o.Set(http.StatusOK, string(bytes.Repeat([]byte("x"), testMaxBody+1)))
			annotate(p, "break")
		}, pagesv1alpha1.ReasonBodyTooLarge, "--max-body-size"),
		Entry("the origin sends an empty body", func(o *origin, p *pagesv1alpha1.StaticPage) {
			o.Set(http.StatusOK, "")
			annotate(p, "break")
		}, pagesv1alpha1.ReasonInvalidBody, "empty body"),
		Entry("the page no longer fits in a ConfigMap", func(o *origin, p *pagesv1alpha1.StaticPage) {
			noise := make([]byte, 1200<<10) // incompressible, under the body cap
			_, _ = rand.Read(noise)
			o.Set(http.StatusOK, string(noise))
			annotate(p, "break")
		}, pagesv1alpha1.ReasonStorageTooLarge, "over the"),
	)

	It("renders nothing while suspended", func() {
		o := newOrigin("s1")
		p := newPage(uniqueName("suspend"), "/suspend", o.URL, time.Second)
		create(p)
		waitRendered(p, "s1")

		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Suspend = new(true)
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			// `kubectl wait --for=condition=Ready` reads the condition's
			// generation: it moves with the status', render or not.
			g.Expect(ready(got).ObservedGeneration).To(Equal(got.Generation))
		}).Should(Succeed())
		annotate(p, "ignored")
		settled := o.Count()
		Consistently(o.Count).Should(Equal(settled))
		Expect(get("x", "/suspend").Body.String()).To(Equal("s1"), "a suspended page is still served")

		o.Set(http.StatusOK, "s2")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Suspend = new(false)
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		waitRendered(p, "s2")
	})

	It("serves a page only for its host when one is set", func() {
		o := newOrigin("hosted")
		p := newPage(uniqueName("host"), "/hosted", o.URL, 0)
		p.Spec.Host = "shop.example.com"
		create(p)
		waitRendered(p, "hosted")
		Eventually(func() int { return get("shop.example.com", "/hosted").Code }).Should(Equal(http.StatusOK))
		Expect(get("blog.example.com", "/hosted").Code).To(Equal(http.StatusNotFound))
	})

	It("renders nothing that is not due after a restart", func() {
		o := newOrigin("restart")
		p := newPage(uniqueName("restart"), "/restart", o.URL, time.Hour)
		p.Namespace = restartNamespace

		start := func() context.CancelFunc {
			mctx, stop := context.WithCancel(ctx)
			mgr := newManager(restartNamespace)
			done := make(chan struct{})
			go func() {
				defer GinkgoRecover()
				defer close(done)
				Expect(mgr.Start(mctx)).To(Succeed())
			}()
			return func() { stop(); <-done }
		}
		stop := start()
		create(p)
		waitRendered(p, "restart")
		stop()

		stop = start()
		defer func() { stop() }()
		// The window opens once the new manager is seen working: it has
		// rendered a page created after it started, so it has listed p too.
		m := newOrigin("marker")
		marker := newPage(uniqueName("marker"), "/"+uniqueName("restart-marker"), m.URL, 0)
		marker.Namespace = restartNamespace
		create(marker)
		waitRendered(marker, "marker")
		Consistently(o.Count).Should(Equal(1))

		By("rendering, after the restart, what became due while it was down")
		annotate(p, "after-restart")
		Eventually(o.Count).Should(Equal(2))
	})
})

var _ = Describe("StaticPage validation", func() {
	ctx := context.Background()
	valid := func() *pagesv1alpha1.StaticPage {
		return newPage(uniqueName("invalid"), "/ok", "http://origin.example/ok", time.Minute)
	}
	DescribeTable("refuses bad manifests with a clear message",
		func(mutate func(p *pagesv1alpha1.StaticPage), message string) {
			p := valid()
			mutate(p)
			err := k8sClient.Create(ctx, p)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("relative route", func(p *pagesv1alpha1.StaticPage) { p.Spec.Route = "products/42" }, "route must be an absolute path"),
		Entry("route with ..", func(p *pagesv1alpha1.StaticPage) { p.Spec.Route = "/a/../etc/passwd" }, "'..' segments"),
		Entry("route with a query", func(p *pagesv1alpha1.StaticPage) { p.Spec.Route = "/a?b=1" }, "must not contain a query"),
		Entry("route with a fragment", func(p *pagesv1alpha1.StaticPage) { p.Spec.Route = "/a#top" }, "fragment"),
		Entry("route with a space", func(p *pagesv1alpha1.StaticPage) { p.Spec.Route = "/a b" }, "whitespace"),
		Entry("ftp origin", func(p *pagesv1alpha1.StaticPage) { p.Spec.Origin.URL = "ftp://origin.example/x" }, "origin.url must be an absolute http:// or https:// URL"),
		Entry("origin without scheme", func(p *pagesv1alpha1.StaticPage) { p.Spec.Origin.URL = "origin.example/x" }, "origin.url must be"),
		Entry("revalidate below 1s", func(p *pagesv1alpha1.StaticPage) {
			p.Spec.Revalidate = &metav1.Duration{Duration: 500 * time.Millisecond}
		}, "revalidate must be a duration of at least 1s"),
		Entry("unknown mode", func(p *pagesv1alpha1.StaticPage) { p.Spec.RevalidateMode = "Sometimes" }, `Unsupported value: "Sometimes"`),
		Entry("upper-case host", func(p *pagesv1alpha1.StaticPage) { p.Spec.Host = "Shop.Example.com" }, "spec.host"),
		Entry("zero timeout", func(p *pagesv1alpha1.StaticPage) { p.Spec.Origin.Timeout = &metav1.Duration{} }, "origin.timeout must be"),
	)

	It("refuses a revalidate that is not a duration", func() {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(pagesv1alpha1.GroupVersion.String())
		u.SetKind("StaticPage")
		u.SetNamespace(testNamespace)
		u.SetName(uniqueName("notaduration"))
		Expect(unstructured.SetNestedMap(u.Object, map[string]any{
			"route":      "/x",
			"origin":     map[string]any{"url": "http://o.example/"},
			"revalidate": "soon",
		}, "spec")).To(Succeed())
		err := k8sClient.Create(ctx, u)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.revalidate"))
	})
})

// counterValue sums a counter on the registry the manager's /metrics serves.
func counterValue(name string) float64 {
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	var sum float64
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
