package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/webhook"
)

// statusOf is a receiver's status as written.
func statusOf(g Gomega, w *pagesv1alpha1.WebhookReceiver) pagesv1alpha1.WebhookReceiverStatus {
	got := &pagesv1alpha1.WebhookReceiver{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(w), got)).To(Succeed())
	return got.Status
}

func count(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

var _ = Describe("WebhookReceiver deliveries", func() {
	ctx := context.Background()

	BeforeEach(func() {
		SetDefaultEventuallyTimeout(20 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
		SetDefaultConsistentlyDuration(time.Second)
	})

	slugRule := pagesv1alpha1.WebhookRule{
		Match: "headers['x-topic'] == 'publish'",
		Paths: "['/posts/' + body.slug]",
	}

	It("revalidates the page a signed delivery names, answers with it, and records it", func() {
		p, origin := page(ns, "/posts/hello", nil)
		w := receiver(pagesv1alpha1.WebhookISR, "cms-key", slugRule)
		origin.Set(http.StatusOK, "v2 of /posts/hello")

		d := isr(w.Status.Path, "cms-key", `{"slug":"hello"}`, time.Now())
		d.headers["X-Topic"] = "publish"
		r := d.post()
		Expect(r.code).To(Equal(http.StatusAccepted), r.body)
		var resp webhook.Response
		Expect(json.Unmarshal([]byte(r.body), &resp)).To(Succeed())
		Expect(resp.Outcome).To(Equal(pagesv1alpha1.OutcomeAccepted))
		Expect(resp.Pages).To(HaveLen(1))
		Expect(resp.Pages[0].Name).To(Equal(p.Name))
		Eventually(revalidation(p)).Should(Equal(resp.Token))
		Eventually(func() string { return main.served("/posts/hello") }).Should(Equal("v2 of /posts/hello"))

		Eventually(func(g Gomega) {
			st := statusOf(g, w)
			g.Expect(st.LastDelivery.Outcome).To(Equal(pagesv1alpha1.OutcomeAccepted))
			g.Expect(st.LastDelivery.PagesMatched).To(HaveValue(BeEquivalentTo(1)))
			g.Expect(count(st.Counters.Accepted)).To(BeEquivalentTo(1))
		}).Should(Succeed())
		Expect(testutil.ToFloat64(webhook.Deliveries.WithLabelValues(ns, w.Name, "Accepted"))).To(BeEquivalentTo(1))

		By("the receiver deleted: nothing of it kept")
		Expect(main.hooks.Built(w.UID)).To(BeTrue())
		Expect(k8sClient.Delete(ctx, w)).To(Succeed())
		Eventually(func() bool { return main.hooks.Built(w.UID) }).Should(BeFalse())
		Expect(d.post().code).To(Equal(http.StatusNotFound))
	})

	It("answers 200 NoMatch, revalidating nothing, when no rule matches", func() {
		p, _ := page(ns, "/posts/quiet", nil)
		w := receiver(pagesv1alpha1.WebhookISR, "cms-key", slugRule)
		d := isr(w.Status.Path, "cms-key", `{"slug":"quiet"}`, time.Now())
		d.headers["X-Topic"] = "draft"
		r := d.post()
		Expect(r.code).To(Equal(http.StatusOK), r.body)
		Expect(r.body).To(ContainSubstring(`"outcome":"NoMatch"`))
		Consistently(revalidation(p)).Should(BeEmpty())
	})

	It("refuses deliveries it cannot verify, with nothing revalidated, and reports them in an Event without the body", func() {
		p, _ := page(ns, "/posts/guarded", nil)
		w := receiver(pagesv1alpha1.WebhookISR, "cms-key", pagesv1alpha1.WebhookRule{Match: "true", Paths: "['/posts/' + body.slug]"})
		body := `{"slug":"guarded","secret-field":"do-not-log"}`

		By("a wrong secret")
		r := isr(w.Status.Path, "other-key", body, time.Now()).post()
		Expect(r.code).To(Equal(http.StatusUnauthorized), r.body)
		Expect(r.body).To(ContainSubstring(`"outcome":"Unauthorized"`))

		By("the body altered by one byte")
		d := isr(w.Status.Path, "cms-key", body, time.Now())
		d.body = strings.Replace(body, "guarded", "guardee", 1)
		r = d.post()
		Expect(r.code).To(Equal(http.StatusUnauthorized), r.body)

		By("a stale timestamp")
		r = isr(w.Status.Path, "cms-key", body, time.Now().Add(-10*time.Minute)).post()
		Expect(r.code).To(Equal(http.StatusUnauthorized), r.body)
		Expect(r.body).To(ContainSubstring(`"outcome":"Stale"`))

		By("no signature at all")
		r = delivery{path: w.Status.Path, body: body}.post()
		Expect(r.code).To(Equal(http.StatusUnauthorized), r.body)

		Consistently(revalidation(p)).Should(BeEmpty())
		Eventually(func(g Gomega) {
			st := statusOf(g, w)
			g.Expect(count(st.Counters.Refused)).To(BeEquivalentTo(4))
			g.Expect(count(st.Counters.Accepted)).To(BeZero())
			g.Expect(st.LastDelivery.Outcome).To(Equal(pagesv1alpha1.OutcomeUnauthorized))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			list := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			var notes []string
			for _, e := range list.Items {
				if e.Regarding.Name == w.Name && e.Reason == pagesv1alpha1.EventDeliveryRefused {
					notes = append(notes, e.Note)
				}
			}
			g.Expect(notes).NotTo(BeEmpty())
			for _, n := range notes {
				g.Expect(n).NotTo(ContainSubstring("do-not-log"))
			}
		}).Should(Succeed())
	})

	It("accepts a delivery once across replicas: a replay to another replica is 409 and revalidates nothing", func() {
		p, _ := page(ns, "/posts/once", nil)
		w := receiver(pagesv1alpha1.WebhookISR, "cms-key", pagesv1alpha1.WebhookRule{Match: "true", Paths: "['/posts/' + body.slug]"})
		replica := assemble(false)
		DeferCleanup(replica.close)
		Eventually(func(g Gomega) {
			// The replica's cache has the receiver once it answers other
			// than 404 to an unsigned delivery.
			g.Expect(delivery{path: w.Status.Path, url: replica.url}.post().code).To(Equal(http.StatusUnauthorized))
		}).Should(Succeed())

		d := isr(w.Status.Path, "cms-key", `{"slug":"once"}`, time.Now())
		r := d.post()
		Expect(r.code).To(Equal(http.StatusAccepted), r.body)
		Eventually(revalidation(p)).ShouldNot(BeEmpty())
		token := revalidation(p)(Default)

		d.url = replica.url
		r = d.post()
		Expect(r.code).To(Equal(http.StatusConflict), r.body)
		Expect(r.body).To(ContainSubstring(`"outcome":"Replayed"`))
		Consistently(revalidation(p)).Should(Equal(token))
	})

	It("answers 404 to a path no receiver has, and to a receiver's path with a byte changed", func() {
		w := receiver(pagesv1alpha1.WebhookBearer, "tok", pagesv1alpha1.WebhookRule{Match: "true", Paths: "['/']"})
		Expect(bearer(webhook.PathPrefix+strings.Repeat("0", 64), "tok", `{}`).post().code).To(Equal(http.StatusNotFound))
		changed := w.Status.Path[:len(w.Status.Path)-1] + "x"
		Expect(bearer(changed, "tok", `{}`).post().code).To(Equal(http.StatusNotFound))
		Expect(bearer("/hook/short", "tok", `{}`).post().code).To(Equal(http.StatusNotFound))
	})

	It("waits spec.delay before revalidating, then answers", func() {
		p, _ := page(ns, "/posts/delayed", nil)
		w := receiverWith(pagesv1alpha1.WebhookBearer, "tok", func(w *pagesv1alpha1.WebhookReceiver) {
			w.Spec.Delay = &metav1.Duration{Duration: 3 * time.Second}
		}, pagesv1alpha1.WebhookRule{Match: "true", Paths: "['/posts/delayed']"})
		// The suite's receivers on a clock the spec moves.
		clk := clocktesting.NewFakeClock(time.Now())
		h := &webhook.Handler{Reader: main.hooks.Reader, Secrets: main.hooks.Secrets, API: main.hooks.API,
			Status: main.hooks.Status, Clock: clk, Log: main.hooks.Log}
		hs := httptest.NewServer(h)
		DeferCleanup(hs.Close)

		d := bearer(w.Status.Path, "tok", `{}`)
		d.url = hs.URL
		done := make(chan reply, 1)
		go func() {
			defer GinkgoRecover()
			done <- d.post()
		}()
		Eventually(clk.HasWaiters).Should(BeTrue())
		Consistently(revalidation(p)).Should(BeEmpty())
		Expect(done).NotTo(Receive())
		clk.Step(3 * time.Second)
		var r reply
		Eventually(done).Should(Receive(&r))
		Expect(r.code).To(Equal(http.StatusAccepted), r.body)
		Eventually(revalidation(p)).ShouldNot(BeEmpty())
	})

	It("revalidates pages of its own namespace only", func() {
		mine, _ := page(ns, "/shared", map[string]string{"blog": "main"})
		theirs, _ := page(other, "/shared", map[string]string{"blog": "main"})
		w := receiver(pagesv1alpha1.WebhookBearer, "tok", pagesv1alpha1.WebhookRule{Match: "true", Paths: "['/shared']", Selector: "'blog=main'"})
		r := bearer(w.Status.Path, "tok", `{}`).post()
		Expect(r.code).To(Equal(http.StatusAccepted), r.body)
		Eventually(revalidation(mine)).ShouldNot(BeEmpty())
		Consistently(revalidation(theirs)).Should(BeEmpty())
	})
})

var _ = Describe("WebhookReceiver rules", func() {
	BeforeEach(func() {
		SetDefaultEventuallyTimeout(20 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
		SetDefaultConsistentlyDuration(time.Second)
	})

	It("answers 503 while a rule does not compile (Ready=False InvalidRule)", func() {
		w := receiver(pagesv1alpha1.WebhookBearer, "tok", pagesv1alpha1.WebhookRule{Match: "true", Paths: "['/' + body.slug"})
		Expect(w.Status.Conditions).To(ContainElement(HaveField("Reason", pagesv1alpha1.ReasonInvalidRule)))
		r := bearer(w.Status.Path, "tok", `{"slug":"x"}`).post()
		Expect(r.code).To(Equal(http.StatusServiceUnavailable), r.body)
		Expect(r.body).To(ContainSubstring("InvalidRule"))
		Expect(r.body).To(ContainSubstring("rules[0].paths"))
	})

	It("answers 422 for a delivery lacking a field a rule indexes, and serves the others", func() {
		withField, _ := page(ns, "/ghost/with-field", nil)
		w := receiver(pagesv1alpha1.WebhookBearer, "tok", pagesv1alpha1.WebhookRule{Match: "true", Paths: "['/ghost/' + body.post.current.slug]"})

		r := bearer(w.Status.Path, "tok", `{"post":{"previous":{"slug":"with-field"}}}`).post()
		Expect(r.code).To(Equal(http.StatusUnprocessableEntity), r.body)
		Expect(r.body).To(ContainSubstring("no such key: current"))
		Consistently(revalidation(withField)).Should(BeEmpty())

		r = bearer(w.Status.Path, "tok", `{"post":{"current":{"slug":"with-field"}}}`).post()
		Expect(r.code).To(Equal(http.StatusAccepted), r.body)
		Eventually(revalidation(withField)).ShouldNot(BeEmpty())
	})

	It("answers 422 and revalidates nothing when a rule exceeds the cost limit, even if another rule matched", func() {
		p, _ := page(ns, "/costly", nil)
		w := receiver(pagesv1alpha1.WebhookBearer, "tok",
			pagesv1alpha1.WebhookRule{Match: "true", Paths: "['/costly']"},
			pagesv1alpha1.WebhookRule{Match: "true", Tags: "body.ids.map(i, body.ids.map(j, 'x')).map(l, l[0])"})
		ids := strings.Repeat("0,", 5000) + "0"
		r := bearer(w.Status.Path, "tok", `{"ids":[`+ids+`]}`).post()
		Expect(r.code).To(Equal(http.StatusUnprocessableEntity), r.body)
		Expect(r.body).To(ContainSubstring("cost limit exceeded"))
		Consistently(revalidation(p)).Should(BeEmpty())
	})

	It("answers 422 for a body that is not JSON", func() {
		w := receiver(pagesv1alpha1.WebhookBearer, "tok", pagesv1alpha1.WebhookRule{Match: "true", Paths: "['/']"})
		r := bearer(w.Status.Path, "tok", `not json`).post()
		Expect(r.code).To(Equal(http.StatusUnprocessableEntity), r.body)
		Expect(r.body).To(ContainSubstring("body is not JSON"))
	})
})
