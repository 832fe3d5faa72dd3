package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

var _ = Describe("the fasthttp page port", func() {
	It("hands a request for a StaticPageSet's path with no page to the fallback, then serves the page from memory", func() {
		origin := testorigin.New("<h1>product 9</h1>")
		name, prefix := unique()
		newSet(name, prefix, origin.URL, nil)

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
		Eventually(func() error {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				_ = c.Close()
			}
			return err
		}).Should(Succeed())

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
