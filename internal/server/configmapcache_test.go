package server_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

// Page bodies from ConfigMaps in the bounded --cache-size cache: a starting
// replica knows every page before it loads any body, loads each on its
// first request, and holds no more than its budget.
var _ = Describe("ConfigMap pages in a server with a small --cache-size", func() {
	ctx := context.Background()

	It("is ready before it loads any body, then serves more pages than fit, within the budget", func() {
		const pageSize, pages, budget = 20 << 10, 6, 50 << 10
		_, prefix := unique()
		bodies := map[string]string{}
		for i := range pages {
			noise := make([]byte, pageSize/2)
			_, _ = rand.Read(noise)
			body := fmt.Sprintf("%x", noise) // incompressible text: every coding is about pageSize
			route := fmt.Sprintf("%s/%d", prefix, i)
			bodies[route] = body
			origin := testorigin.New(body)
			page := &pagesv1alpha1.StaticPage{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("cache%s-%d", prefix[1:], i)},
				Spec: pagesv1alpha1.StaticPageSpec{
					Route: route, Host: "shop.example",
					Origin: pagesv1alpha1.Origin{URL: origin.URL + route},
				},
			}
			Expect(k8sClient.Create(ctx, page)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), page) })
		}
		for route, body := range bodies {
			Eventually(func() string { return get(replicas[0], route).Body.String() }).Should(Equal(body), route)
		}

		By("starting a replica with room for two of the six pages")
		rctx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		o := serverOptions()
		o.CacheSize = fmt.Sprint(budget)
		fresh := startReplica(rctx, o)
		Eventually(func() error { return fresh.Sync.Ready(nil) }).Should(Succeed())
		Expect(fresh.Sync.Loads()).To(BeZero(), "a body was loaded before any request")
		Expect(fresh.Sync.HeldBytes()).To(BeZero(), "the replica held bodies before any request")
		for route := range bodies {
			_, known := fresh.Table.PageName("shop.example", route)
			Expect(known).To(BeTrue(), "the ready replica does not know %s", route)
			Expect(fresh.Table.Held("shop.example", route)).To(BeFalse(), "%s was loaded before its request", route)
		}

		By("serving every page, each loaded on its request")
		for route, body := range bodies {
			before := fresh.Sync.Loads()
			w := get(fresh, route)
			Expect(w.Code).To(Equal(http.StatusOK), route)
			Expect(w.Body.String()).To(Equal(body), route)
			Expect(fresh.Sync.Loads()).To(BeNumerically(">", before), "%s was served without a load", route)
			Expect(fresh.Sync.HeldBytes()).To(BeNumerically("<=", budget))
		}

		By("sending many requests at once for a page that is not in memory")
		cold := ""
		for route := range bodies {
			if !fresh.Table.Held("shop.example", route) {
				cold = route
			}
		}
		Expect(cold).NotTo(BeEmpty(), "six pages of 20 KiB do not fit in 50 KiB")
		before := fresh.Sync.Loads()
		var wg sync.WaitGroup
		got := make([]string, 20)
		for i := range got {
			wg.Go(func() { got[i] = get(fresh, cold).Body.String() })
		}
		wg.Wait()
		Expect(got).To(HaveEach(bodies[cold]))
		Expect(fresh.Sync.Loads()-before).To(BeEquivalentTo(1), "one load for 20 requests")
		Expect(fresh.Sync.HeldBytes()).To(BeNumerically("<=", budget))
	})
})
