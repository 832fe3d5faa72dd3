package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/revalidateapi"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

var _ = Describe("a StaticPageSet's creation budget", Ordered, func() {
	// budgetReplicas are four server replicas, each with its own manager,
	// cache and limiters, sharing the API server's Lease store and one
	// clock, which the specs move from one budget window to the next.
	var (
		budgetReplicas [4]*server.Server
		clk            *clocktesting.FakeClock
		// bursts numbers the bursts, so that each asks for new paths.
		bursts int
	)

	BeforeAll(func() {
		clk = clocktesting.NewFakeClock(time.Now())
		ctx, stop := context.WithCancel(context.Background())
		DeferCleanup(stop)
		for i := range budgetReplicas {
			o := serverOptions()
			o.Clock = clk
			o.CreationSlots = &revalidateapi.LeaseReplays{Client: k8sClient, Namespace: ns, Clock: clk}
			budgetReplicas[i] = startReplica(ctx, o)
		}
	})

	// newBudgetSet is a serving set with maxCreationRate rate, routed by
	// the four replicas.
	newBudgetSet := func(rate int32) (*pagesv1alpha1.StaticPageSet, string) {
		GinkgoHelper()
		origin := testorigin.New("<h1>page</h1>")
		name, prefix := unique()
		set := newSet(name, prefix, origin.URL, func(s *pagesv1alpha1.StaticPageSet) { s.Spec.MaxCreationRate = rate })
		Eventually(func(g Gomega) {
			for _, r := range budgetReplicas {
				_, _, ok := r.Sets.Match("shop.example", prefix+"/x")
				g.Expect(ok).To(BeTrue(), "a replica does not route the set's paths yet")
			}
		}).Should(Succeed())
		return set, prefix
	}

	// burst sends, at once, a request for each of n new paths under
	// prefix, spread over the four replicas, from the client address
	// client(i) gives request i; it returns how many were let create their
	// page (200, or 504 on a machine too slow to render within the
	// fallback timeout) and checks that every other one got 503 with
	// Retry-After.
	burst := func(prefix string, n int, client func(i int) string) int {
		GinkgoHelper()
		bursts++
		codes := make([]int, n)
		retry := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("http://shop.example%s/b%d-%d", prefix, bursts, i), nil)
				req.RemoteAddr = client(i)
				w := httptest.NewRecorder()
				budgetReplicas[i%len(budgetReplicas)].Handler.ServeHTTP(w, req)
				codes[i], retry[i] = w.Code, w.Header().Get("Retry-After")
			})
		}
		wg.Wait()
		let := 0
		for i, code := range codes {
			if code != http.StatusServiceUnavailable {
				Expect(code).To(BeElementOf(http.StatusOK, http.StatusGatewayTimeout), "request %d", i)
				let++
				continue
			}
			Expect(retry[i]).To(Equal("1"), "request %d: the next window has room", i)
		}
		return let
	}

	distinctClients := func(i int) string { return fmt.Sprintf("192.0.2.%d:40000", i+1) }

	It("creates at most maxCreationRate pages per window across four replicas", func() {
		const rate = 2
		set, prefix := newBudgetSet(rate)

		for window := 1; window <= 3; window++ {
			// Each replica alone would create rate pages of these.
			Expect(burst(prefix, 6*len(budgetReplicas), distinctClients)).To(Equal(rate), "window %d", window)
			Expect(children(set)).To(HaveLen(window*rate), "pages created by the end of window %d", window)
			clk.Step(time.Second)
		}
		Expect(fallbackRefusals(set, "rate_limited")).To(BeNumerically(">=", 1))
	})

	It("gives one client address at most its share of a window's budget", func() {
		const rate = 8 // a client's share: ceil(8/4) = 2
		set, prefix := newBudgetSet(rate)

		// One host: every address of one IPv6 /64.
		one := func(i int) string { return fmt.Sprintf("[2001:db8:1:2::%x]:40000", i+1) }
		Expect(burst(prefix, 12, one)).To(Equal(2))
		Expect(children(set)).To(HaveLen(2))

		// Another client, in the same window, still gets pages.
		other := func(int) string { return "198.51.100.7:40000" }
		Expect(burst(prefix, 12, other)).To(Equal(2))
		Expect(children(set)).To(HaveLen(4))

		// The first one's share comes back with the next window.
		clk.Step(time.Second)
		Expect(burst(prefix, 12, one)).To(Equal(2))
		Expect(children(set)).To(HaveLen(6))
	})

	It("gives no share per client where the page port counts no client, as behind a proxy", func() {
		const rate = 8
		set, prefix := newBudgetSet(rate)
		// A fifth replica, with --max-connections-per-client=0, is the
		// only one asked.
		ctx, stop := context.WithCancel(context.Background())
		DeferCleanup(stop)
		o := serverOptions()
		o.Clock = clk
		o.Conn.MaxConnectionsPerClient = 0
		o.CreationSlots = &revalidateapi.LeaseReplays{Client: k8sClient, Namespace: ns, Clock: clk}
		proxied := startReplica(ctx, o)
		Eventually(func() bool { _, _, ok := proxied.Sets.Match("shop.example", prefix+"/x"); return ok }).Should(BeTrue())

		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("http://shop.example%s/proxied-%d", prefix, i), nil)
				req.RemoteAddr = "203.0.113.9:40000"
				proxied.Handler.ServeHTTP(httptest.NewRecorder(), req)
			})
		}
		wg.Wait()
		Expect(children(set)).To(HaveLen(rate), "one address, the proxy's, took the whole budget")
	})
})
