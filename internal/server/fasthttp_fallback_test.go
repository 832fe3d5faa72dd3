package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

var _ = Describe("the fasthttp page port", func() {
	It("hands a request for a StaticPageSet's path with no page to the fallback, then serves the page from memory", func() {
		origin := testorigin.New("<h1>product 9</h1>")
		name, prefix := unique()
		newSet(name, prefix, origin.URL, nil)

		addr := startPagePort()
		fetch := func(path string) (int, string) {
			req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
			Expect(err).NotTo(HaveOccurred())
			req.Host = "shop.example"
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return 0, err.Error()
			}
			defer func() { _ = resp.Body.Close() }()
			body, err := io.ReadAll(resp.Body)
			Expect(err).NotTo(HaveOccurred())
			return resp.StatusCode, string(body)
		}
		code, body := fetch(prefix + "/9")
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(Equal("<h1>product 9</h1>"))
		By("serving it again as a hit, with no new fetch")
		code, body = fetch(prefix + "/9")
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(Equal("<h1>product 9</h1>"))
		Expect(origin.Count()).To(Equal(1))
		By("answering 404 for a path no set matches")
		code, _ = fetch("/no-set/9")
		Expect(code).To(Equal(http.StatusNotFound))
	})
})

var _ = Describe("a client that leaves the fasthttp page port", func() {
	It("ends its wait for a StaticPageSet's page, which is still rendered", func() {
		origin := testorigin.New("<h1>product 7</h1>")
		release := origin.Hold()
		name, prefix := unique()
		newSet(name, prefix, origin.URL, nil)
		addr := startPagePort()

		c, err := net.Dial("tcp", addr)
		Expect(err).NotTo(HaveOccurred())
		_, err = io.WriteString(c, "GET "+prefix+"/7 HTTP/1.1\r\nHost: shop.example\r\n\r\n")
		Expect(err).NotTo(HaveOccurred())
		By("waiting, while the page's render is held at the origin")
		Eventually(origin.InFlight).Should(Equal(1))
		canceled, timedOut := fallbackResults("canceled"), fallbackResults("timeout")
		Expect(c.Close()).To(Succeed())
		By("ending the wait when the client leaves, not at --fallback-timeout")
		Eventually(func() float64 { return fallbackResults("canceled") }).Should(Equal(canceled + 1))
		Expect(fallbackResults("timeout")).To(Equal(timedOut))

		By("rendering the page for the next visitor all the same")
		release()
		Eventually(func() int { return get(replicas[0], prefix+"/7").Code }).Should(Equal(http.StatusOK))
		Expect(origin.Count()).To(Equal(1))
	})
})

// startPagePort serves replicas[0] on a fasthttp page port of its own, with
// the default limits, until the spec ends, and returns its address once it
// accepts connections.
func startPagePort() string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	addr := ln.Addr().String()
	Expect(ln.Close()).To(Succeed())
	ctx, stop := context.WithCancel(context.Background())
	DeferCleanup(stop)
	stopping := &server.Shutdown{Grace: time.Second}
	go func() {
		defer GinkgoRecover()
		Expect(stopping.PageListener(addr, replicas[0].Handler, nil).Start(ctx)).To(Succeed())
	}()
	Eventually(func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err
	}).Should(Succeed())
	return addr
}

// fallbackResults is isr_server_fallback_total for result, in this process
// (both replicas).
func fallbackResults(result string) float64 {
	GinkgoHelper()
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "isr_server_fallback_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
