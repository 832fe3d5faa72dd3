//go:build e2e

package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// connectionLimitSpecs checks the limits of a server's two listeners, the
// page port and the revalidate API's, as the chart's flags set them and
// docs/security.md documents their answers. It runs inside the ordered
// user flow, once the chart's server flags are known.
func connectionLimitSpecs(serverKube *string, serverArgs *[]string) {
	It("answers the connection and header limits of both ports with the documented status", func() {
		Expect(*serverArgs).To(ContainElement("--max-connections=10000"), "the chart passes the limits")
		s := startServer("server-limits", *serverKube, *serverArgs, "--max-connections=2", "--max-header-bytes=4096")
		pages := hostOf(s.url)
		api := hostOf(s.api)

		By("a request header over --max-header-bytes and its slack: 431")
		c := dialLoopback(pages)
		head := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
		_, err := io.WriteString(c, head+strings.Repeat("a", 4096+4096-len(head)))
		Expect(err).NotTo(HaveOccurred())
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodGet})
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.StatusCode).To(Equal(http.StatusRequestHeaderFieldsTooLarge))
		Expect(c.Close()).To(Succeed())

		for _, port := range []string{pages, api} {
			By("a connection over --max-connections on " + port + ": 503, closed")
			// The refused one above has gone: wait until two are admitted.
			var held []net.Conn
			Eventually(func() int {
				c := dialLoopback(port)
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					_ = c.Close()
					return len(held)
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodGet})
				if err != nil || resp.StatusCode == http.StatusServiceUnavailable {
					_ = c.Close()
					return len(held)
				}
				held = append(held, c)
				return len(held)
			}).Should(Equal(2))
			over := dialLoopback(port)
			resp, err := http.ReadResponse(bufio.NewReader(over), &http.Request{Method: http.MethodGet})
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.StatusCode).To(Equal(http.StatusServiceUnavailable))
			Expect(resp.Close).To(BeTrue())
			Expect(resp.Header.Get("Retry-After")).To(Equal("1"))
			_ = over.Close()
			for _, c := range held {
				_ = c.Close()
			}
		}
	})
}

// hostOf is the host:port of a URL.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return u.Host
}

// dialLoopback opens a connection to addr, closed when the spec ends.
func dialLoopback(addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = c.Close() })
	ExpectWithOffset(1, c.SetDeadline(time.Now().Add(30*time.Second))).To(Succeed())
	return c
}
