package server_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

// setSeq gives each spec's set its own name and paths.
var setSeq atomic.Int32

// unique returns a set name and a path prefix no other spec uses.
func unique() (name, prefix string) {
	n := setSeq.Add(1)
	return fmt.Sprintf("set-%d", n), fmt.Sprintf("/s%d", n)
}

var _ = Describe("a request for a StaticPageSet's path with no page", func() {
	ctx := context.Background()

	It("creates the page, waits for its render and serves it as any page", func() {
		origin := testorigin.New("<h1>product 42</h1>")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.Revalidate = &metav1.Duration{Duration: time.Hour}
		})

		w := get(replicas[0], prefix+"/42")
		Expect(w.Code).To(Equal(http.StatusOK), w.Body.String())
		Expect(w.Body.String()).To(Equal("<h1>product 42</h1>"))
		Expect(w.Header().Get("Cache-Control")).To(HavePrefix("public, max-age=0, s-maxage=3600"))
		Expect(w.Header().Get("Etag")).NotTo(BeEmpty())
		Expect(w.Header().Get("Age")).NotTo(BeEmpty())
		Expect(w.Header().Get("Cache-Status")).To(HavePrefix("isr-operator; hit"))
		Expect(origin.CountPath(prefix + "/42")).To(Equal(1))

		By("having created the page the cluster's policy admits")
		p := child(set, prefix+"/42")
		Expect(p).NotTo(BeNil())
		Expect(p.Spec.Set).To(Equal(pagesv1alpha1.SetReference{Name: name}))
		Expect(p.Spec.Origin).To(BeZero())
		Expect(p.Spec.Route).To(Equal(prefix + "/42"))
		Expect(p.Labels).To(HaveKeyWithValue(pagesv1alpha1.SetLabel, name))
		Expect(p.Labels).To(HaveKeyWithValue(pagesv1alpha1.CreatedByLabel, pagesv1alpha1.CreatedByRequest))
		Expect(p.OwnerReferences).To(ConsistOf(And(
			HaveField("Kind", "StaticPageSet"), HaveField("Name", name), HaveField("UID", set.UID),
			HaveField("Controller", new(true)), HaveField("BlockOwnerDeletion", BeNil()))))

		By("serving it from memory on the other replica, with no new fetch")
		Eventually(func() int { return get(replicas[1], prefix+"/42").Code }).Should(Equal(http.StatusOK))
		Expect(origin.Count()).To(Equal(1))
	})

	It("fetches the origin once for 50 concurrent first requests over two replicas", func() {
		origin := testorigin.New("<h1>popular</h1>")
		release := origin.Hold()
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, nil)

		creates := createAttempts()
		const n = 50
		codes := make([]int, n)
		bodies := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				defer GinkgoRecover()
				w := get(replicas[i%2], prefix+"/7")
				codes[i], bodies[i] = w.Code, w.Body.String()
			})
		}
		By("holding the render while every request waits")
		Eventually(origin.InFlight).Should(Equal(1))
		Consistently(origin.Count).WithTimeout(300 * time.Millisecond).Should(Equal(1))
		release()
		wg.Wait()
		for i := range n {
			Expect(codes[i]).To(Equal(http.StatusOK), "request %d: %s", i, bodies[i])
			Expect(bodies[i]).To(Equal("<h1>popular</h1>"))
		}
		Expect(origin.Count()).To(Equal(1))
		Expect(children(set)).To(HaveLen(1))
		Expect(createAttempts()-creates).To(BeNumerically("<=", 2), "more than one create per replica")
	})

	It("answers 404 when the origin has no such page, and again without asking it", func() {
		origin := testorigin.New("")
		origin.Set(http.StatusNotFound, "no such product")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, nil)

		w := get(replicas[0], prefix+"/404")
		Expect(w.Code).To(Equal(http.StatusNotFound), w.Body.String())
		Expect(origin.Count()).To(Equal(1))
		Eventually(func(g Gomega) {
			p := child(set, prefix+"/404")
			g.Expect(p).NotTo(BeNil())
			g.Expect(meta.FindStatusCondition(p.Status.Conditions, pagesv1alpha1.ReadyCondition)).
				To(HaveField("Reason", pagesv1alpha1.ReasonWithdrawn))
		}).Should(Succeed())

		By("answering 404 on both replicas from the kept page, with no origin fetch")
		for _, r := range replicas {
			Eventually(func(g Gomega) {
				w := get(r, prefix+"/404")
				g.Expect(w.Code).To(Equal(http.StatusNotFound))
				g.Expect(w.Header().Get("Cache-Control")).To(MatchRegexp(`^public, max-age=0, s-maxage=[0-9]+$`))
			}).Should(Succeed())
		}
		Consistently(origin.Count).WithTimeout(300 * time.Millisecond).Should(Equal(1))
	})

	It("answers an origin's redirect with a 308 to the set's path it maps to, storing nothing for the variant", func() {
		origin := testorigin.New("<h1>product 42</h1>")
		name, prefix := unique()
		origin.Redirect(prefix+"/0042", prefix+"/42")
		origin.Redirect(prefix+"/0007", "/elsewhere/7")
		set := newSet(name, prefix, origin.URL, nil)

		w := get(replicas[0], prefix+"/0042")
		Expect(w.Code).To(Equal(http.StatusPermanentRedirect), w.Body.String())
		Expect(w.Header().Get("Location")).To(Equal(prefix + "/42"))
		Expect(w.Header().Get("Cache-Control")).To(MatchRegexp(`^public, max-age=0, s-maxage=[1-9][0-9]*$`))

		By("keeping the variant's page only as the record of the redirect, with nothing stored")
		variant := child(set, prefix+"/0042")
		Expect(variant).NotTo(BeNil())
		Expect(variant.Status.Digest).To(BeEmpty())
		Expect(variant.Status.RedirectRoute).To(Equal(prefix + "/42"))
		Expect(meta.FindStatusCondition(variant.Status.Conditions, pagesv1alpha1.ReadyCondition)).
			To(HaveField("Reason", pagesv1alpha1.ReasonRedirected))
		Expect(storedFor(variant)).To(BeEmpty())

		By("creating the canonical path's page when the visitor follows the redirect")
		w = get(replicas[0], prefix+"/42")
		Expect(w.Code).To(Equal(http.StatusOK), w.Body.String())
		Expect(w.Body.String()).To(Equal("<h1>product 42</h1>"))
		canonical := child(set, prefix+"/42")
		Expect(canonical).NotTo(BeNil())
		Expect(storedFor(canonical)).NotTo(BeEmpty())

		By("answering the variant with the 308 on both replicas, with no new origin fetch")
		for _, r := range replicas {
			Eventually(func(g Gomega) {
				w := get(r, prefix+"/0042")
				g.Expect(w.Code).To(Equal(http.StatusPermanentRedirect))
				g.Expect(w.Header().Get("Location")).To(Equal(prefix + "/42"))
			}).Should(Succeed())
		}
		Consistently(func() int { return origin.CountPath(prefix + "/0042") }).WithTimeout(300 * time.Millisecond).Should(Equal(1))

		By("answering 404 to a redirect that leads to no path of the set, creating no page for it")
		w = get(replicas[1], prefix+"/0007")
		Expect(w.Code).To(Equal(http.StatusNotFound), w.Body.String())
		lost := child(set, prefix+"/0007")
		Expect(lost).NotTo(BeNil())
		Expect(lost.Status.Digest).To(BeEmpty())
		Expect(lost.Status.RedirectRoute).To(BeEmpty())
		Expect(storedFor(lost)).To(BeEmpty())
		Expect(child(set, prefix+"/7")).To(BeNil())
		Expect(children(set)).To(HaveLen(3))
	})

	It("finds a page created under the name of a shorter hash, and creates no second one", func() {
		origin := testorigin.New("")
		origin.Set(http.StatusNotFound, "no such product")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, nil)
		path := prefix + "/legacy"
		old := pagesv1alpha1.RequestedChild(set, path)
		old.Name = pagesv1alpha1.LegacyChildName(set.Name, path)
		Expect(k8sClient.Create(context.Background(), old)).To(Succeed())
		Eventually(func(g Gomega) {
			p := &pagesv1alpha1.StaticPage{}
			g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(old), p)).To(Succeed())
			g.Expect(meta.FindStatusCondition(p.Status.Conditions, pagesv1alpha1.ReadyCondition)).
				To(HaveField("Reason", pagesv1alpha1.ReasonWithdrawn))
		}).Should(Succeed())
		Expect(origin.Count()).To(Equal(1))

		By("answering from it on both replicas, with no new page and no origin fetch")
		for _, r := range replicas {
			Eventually(func(g Gomega) {
				w := get(r, path)
				g.Expect(w.Code).To(Equal(http.StatusNotFound))
				g.Expect(w.Header().Get("Cache-Control")).To(MatchRegexp(`^public, max-age=0, s-maxage=[0-9]+$`))
			}).Should(Succeed())
		}
		Expect(child(set, path)).To(BeNil())
		Consistently(origin.Count).WithTimeout(300 * time.Millisecond).Should(Equal(1))
	})

	It("answers 502 when the first render fails, and stores nothing", func() {
		origin := testorigin.New("")
		origin.Set(http.StatusInternalServerError, "boom")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, nil)

		w := get(replicas[1], prefix+"/500")
		Expect(w.Code).To(Equal(http.StatusBadGateway), w.Body.String())
		Expect(w.Header().Get("Cache-Control")).To(Equal("no-store"))
		Eventually(func() []pagesv1alpha1.StaticPage { return children(set) }).Should(BeEmpty())
		Expect(replicas[1].Table.Lookup("shop.example", prefix+"/500")).To(BeNil())

		By("trying again on a later request, which the origin now answers")
		origin.Set(http.StatusOK, "<h1>back</h1>")
		Eventually(func() int { return get(replicas[1], prefix+"/500").Code }).Should(Equal(http.StatusOK))
	})

	It("answers 504 when the page is not rendered within --fallback-timeout", func() {
		origin := testorigin.New("<h1>slow</h1>")
		release := origin.Hold()
		o := serverOptions()
		o.FallbackTimeout = 200 * time.Millisecond
		rctx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		impatient := startReplica(rctx, o)
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, nil)
		Eventually(func() bool { _, _, ok := impatient.Sets.Match("", prefix+"/1"); return ok }).Should(BeTrue())

		w := get(impatient, prefix+"/slow")
		Expect(w.Code).To(Equal(http.StatusGatewayTimeout), w.Body.String())
		Expect(w.Header().Get("Cache-Control")).To(Equal("no-store"))

		By("serving the page once it is rendered")
		release()
		Eventually(func() int { return get(impatient, prefix+"/slow").Code }).Should(Equal(http.StatusOK))
		Expect(origin.Count()).To(Equal(1))
		Expect(children(set)).To(HaveLen(1))
	})

	It("answers 503 with Retry-After past maxCreationRate", func() {
		origin := testorigin.New("<h1>page</h1>")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.MaxCreationRate = 1 })

		n := 0
		Eventually(func(g Gomega) {
			n++
			w := get(replicas[0], fmt.Sprintf("%s/p%d", prefix, n))
			g.Expect(w.Code).To(Equal(http.StatusServiceUnavailable))
			g.Expect(w.Header().Get("Retry-After")).To(MatchRegexp(`^[1-9][0-9]*$`))
			g.Expect(w.Header().Get("Cache-Control")).To(Equal("no-store"))
		}).Should(Succeed())
		Expect(len(children(set))).To(BeNumerically("<", n), "a refused path got a page")
		Expect(fallbackRefusals(set, "rate_limited")).To(BeNumerically(">=", 1))
		Expect(fallbackRefusals(set, "full")).To(BeZero())
	})

	It("answers 503 with Retry-After when the set holds maxPages pages", func() {
		origin := testorigin.New("<h1>page</h1>")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.MaxPages = 1 })

		Expect(get(replicas[0], prefix+"/first").Code).To(Equal(http.StatusOK))
		Eventually(func(g Gomega) {
			w := get(replicas[0], prefix+"/second")
			g.Expect(w.Code).To(Equal(http.StatusServiceUnavailable))
			g.Expect(w.Header().Get("Retry-After")).To(Equal("60"))
			g.Expect(w.Header().Get("Cache-Control")).To(Equal("no-store"))
		}).Should(Succeed())
		Expect(children(set)).To(HaveLen(1))
		Expect(origin.CountPath(prefix + "/second")).To(BeZero())
		Expect(fallbackRefusals(set, "full")).To(BeNumerically(">=", 1))
	})

	It("answers 404 with fallback NotFound, creating nothing", func() {
		origin := testorigin.New("<h1>page</h1>")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.Fallback = pagesv1alpha1.FallbackNotFound })

		w := get(replicas[0], prefix+"/new")
		Expect(w.Code).To(Equal(http.StatusNotFound))
		Expect(w.Header().Get("Cache-Control")).To(Equal("no-store"))
		Consistently(func() []pagesv1alpha1.StaticPage { return children(set) }).WithTimeout(300 * time.Millisecond).Should(BeEmpty())
		Expect(origin.Count()).To(BeZero())
	})

	It("creates nothing for a path with '..', an encoded slash or a control character", func() {
		origin := testorigin.New("<h1>page</h1>")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, nil)

		for _, path := range []string{"/..", "/%2e%2e", "/a%2Fb", "/a%00b", "/a%0Ab", "/a/b", "/"} {
			w := get(replicas[0], prefix+path)
			Expect(w.Code).To(Equal(http.StatusNotFound), path)
		}
		Consistently(func() []pagesv1alpha1.StaticPage { return children(set) }).WithTimeout(300 * time.Millisecond).Should(BeEmpty())
		Expect(origin.Count()).To(BeZero())
	})

	It("answers 404 at once to values spec.parameters refuses: no page, no origin request", func() {
		origin := testorigin.New("<h1>product 42</h1>")
		name, prefix := unique()
		set := &pagesv1alpha1.StaticPageSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: pagesv1alpha1.StaticPageSetSpec{
				Route:      prefix + "/{id}",
				Origin:     pagesv1alpha1.Origin{URL: origin.URL + prefix + "/{id}"},
				Parameters: []pagesv1alpha1.ParameterConstraint{{Name: "id", Pattern: "[1-9][0-9]{0,9}"}},
			},
		}
		Expect(k8sClient.Create(ctx, set)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), set) })
		setReady(set, metav1.ConditionTrue, pagesv1alpha1.ReasonServing)
		Eventually(func(g Gomega) {
			for _, r := range replicas {
				_, _, ok := r.Sets.Match("shop.example", prefix+"/42")
				g.Expect(ok).To(BeTrue(), "a replica does not route the set's paths yet")
			}
		}).Should(Succeed())

		By("asking both replicas for spellings of id 42 the constraint refuses")
		variants := []string{"/042", "/0042", "/00042", "/0000000042", "/42a", "/%2B42", "/42.0", "/4%202", "/%5C42", `/42%5C`, "/12345678901"}
		for i, v := range variants {
			w := get(replicas[i%2], prefix+v)
			Expect(w.Code).To(Equal(http.StatusNotFound), v)
		}
		Consistently(func() []pagesv1alpha1.StaticPage { return children(set) }).WithTimeout(300 * time.Millisecond).Should(BeEmpty())
		Expect(origin.Count()).To(BeZero())

		By("serving the one spelling it accepts")
		w := get(replicas[0], prefix+"/42")
		Expect(w.Code).To(Equal(http.StatusOK), w.Body.String())
		Expect(children(set)).To(HaveLen(1))
		Expect(origin.Count()).To(Equal(1))
	})

	It("creates nothing for a set that is not serving (Conflict, InvalidSpec)", func() {
		origin := testorigin.New("<h1>page</h1>")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, nil)
		setReady(set, metav1.ConditionFalse, pagesv1alpha1.ReasonConflict)
		Eventually(func() bool { _, _, ok := replicas[0].Sets.Match("", prefix+"/x"); return ok }).Should(BeFalse())

		Expect(get(replicas[0], prefix+"/new").Code).To(Equal(http.StatusNotFound))
		Consistently(func() []pagesv1alpha1.StaticPage { return children(set) }).WithTimeout(300 * time.Millisecond).Should(BeEmpty())
		Expect(origin.Count()).To(BeZero())
	})

	It("leaves a path an explicit StaticPage serves to that page", func() {
		own := testorigin.New("<h1>special</h1>")
		origin := testorigin.New("<h1>from the set</h1>")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, nil)
		page := &pagesv1alpha1.StaticPage{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-special"},
			Spec:       pagesv1alpha1.StaticPageSpec{Route: prefix + "/special", Origin: pagesv1alpha1.Origin{URL: own.URL + "/special"}},
		}
		Expect(k8sClient.Create(ctx, page)).To(Succeed())
		Eventually(func() *server.Entry { return replicas[0].Table.Lookup("shop.example", prefix+"/special") }).ShouldNot(BeNil())

		w := get(replicas[0], prefix+"/special")
		Expect(w.Code).To(Equal(http.StatusOK))
		Expect(w.Body.String()).To(Equal("<h1>special</h1>"))
		Expect(children(set)).To(BeEmpty())
		Expect(origin.Count()).To(BeZero())
	})

	It("answers 503, never 404, for a path whose page's name another page has taken, and reports it on the set", func() {
		own := testorigin.New("<h1>elsewhere</h1>")
		origin := testorigin.New("<h1>from the set</h1>")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, nil)
		path := prefix + "/taken"
		squatter := &pagesv1alpha1.StaticPage{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pagesv1alpha1.ChildName(set.Name, path)},
			Spec:       pagesv1alpha1.StaticPageSpec{Route: "/elsewhere-" + name, Origin: pagesv1alpha1.Origin{URL: own.URL + "/elsewhere"}},
		}
		Expect(k8sClient.Create(ctx, squatter)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), squatter) })
		Eventually(func() *server.Entry { return replicas[0].Table.Lookup("shop.example", squatter.Spec.Route) }).ShouldNot(BeNil())

		before := fallbackResults("collision")
		for _, r := range replicas {
			w := get(r, path)
			Expect(w.Code).To(Equal(http.StatusServiceUnavailable), w.Body.String())
			Expect(w.Header().Get("Retry-After")).To(Equal("60"))
			Expect(w.Header().Get("Cache-Control")).To(Equal("no-store"))
		}
		Expect(fallbackResults("collision") - before).To(BeEquivalentTo(2))
		Expect(fallbackRefusals(set, "collision")).To(BeEquivalentTo(2))
		Expect(children(set)).To(BeEmpty())
		Expect(origin.Count()).To(BeZero())

		By("reporting it on the set with a Warning Event that names the path and the page")
		Eventually(func() []eventsv1.Event { return setEvents(set, pagesv1alpha1.EventNameCollision) }).
			Should(ContainElement(SatisfyAll(
				HaveField("Type", corev1.EventTypeWarning),
				HaveField("ReportingController", "isr-operator-server"),
				HaveField("Note", SatisfyAll(ContainSubstring("path "+path), ContainSubstring("page name "+squatter.Name),
					ContainSubstring("route "+squatter.Spec.Route))))))
	})

	It("records when a page a visitor caused is served, at most every tenth of expireAfter", func() {
		// A replica of its own on a fake clock: the annotation has whole
		// seconds, so only moving the clock by minutes tells a throttled
		// serve from one that was recorded.
		clk := clocktesting.NewFakePassiveClock(time.Now().Truncate(time.Second))
		o := serverOptions()
		o.Clock = clk
		rctx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		r := startReplica(rctx, o)

		origin := testorigin.New("<h1>page</h1>")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, func(s *pagesv1alpha1.StaticPageSet) {
			s.Spec.ExpireAfter = &metav1.Duration{Duration: time.Hour}
		})
		Eventually(func() bool { _, _, ok := r.Sets.Match("shop.example", prefix+"/x"); return ok }).Should(BeTrue())
		// recorded is the requested-at the replica's entry holds, once the
		// annotation came back to it through its cache.
		recorded := func() time.Time { return server.RequestedAt(r.Table.Lookup("shop.example", prefix+"/seen")) }

		t0 := clk.Now()
		Expect(get(r, prefix+"/seen").Code).To(Equal(http.StatusOK))
		Eventually(recorded).Should(BeTemporally("==", t0))
		Expect(child(set, prefix+"/seen").Annotations).To(HaveKeyWithValue(pagesv1alpha1.RequestedAtAnnotation, t0.UTC().Format(time.RFC3339)))
		before := requestedAtUpdates()

		By("not again within a tenth of expireAfter")
		clk.SetTime(t0.Add(5 * time.Minute))
		for range 5 {
			Expect(get(r, prefix+"/seen").Code).To(Equal(http.StatusOK))
		}

		By("again once a tenth of expireAfter has passed, once")
		clk.SetTime(t0.Add(7 * time.Minute))
		Expect(get(r, prefix+"/seen").Code).To(Equal(http.StatusOK))
		Eventually(recorded).Should(BeTemporally("==", t0.Add(7*time.Minute)))
		// The count moves once the patch has answered, which the cache
		// may show before.
		updates := func() float64 { return requestedAtUpdates() - before }
		Eventually(updates).Should(BeEquivalentTo(1), "requested-at updates after the first")
		Consistently(updates).WithTimeout(200*time.Millisecond).Should(BeEquivalentTo(1), "requested-at updates after the first")
	})
})

// requestedAtUpdates is how many requested-at annotations the replicas of
// this process wrote.
func requestedAtUpdates() float64 {
	GinkgoHelper()
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "isr_server_requested_at_updates_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "ok" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// createAttempts is the sum of isr_server_fallback_creates_total over its
// outcomes, in this process (both replicas).
func createAttempts() float64 {
	GinkgoHelper()
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	sum := 0.0
	for _, f := range families {
		if f.GetName() != "isr_server_fallback_creates_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// fallbackRefusals is isr_server_fallback_refusals_total of set for reason,
// in this process (both replicas).
func fallbackRefusals(set *pagesv1alpha1.StaticPageSet, reason string) float64 {
	GinkgoHelper()
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	want := map[string]string{"namespace": set.Namespace, "set": set.Name, "reason": reason}
	for _, f := range families {
		if f.GetName() != "isr_server_fallback_refusals_total" {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// setEvents lists the Events about set with the given reason.
func setEvents(set *pagesv1alpha1.StaticPageSet, reason string) []eventsv1.Event {
	GinkgoHelper()
	list := &eventsv1.EventList{}
	Expect(k8sClient.List(context.Background(), list, client.InNamespace(set.Namespace))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Kind == "StaticPageSet" && e.Regarding.Name == set.Name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// storedFor lists the ConfigMaps page owns: its stored content.
func storedFor(page *pagesv1alpha1.StaticPage) []string {
	GinkgoHelper()
	list := &corev1.ConfigMapList{}
	Expect(k8sClient.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var names []string
	for _, cm := range list.Items {
		for _, o := range cm.OwnerReferences {
			if o.UID == page.UID {
				names = append(names, cm.Name)
			}
		}
	}
	return names
}
