//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// pageFrom sends a GET for url from the loopback address 127.0.0.<host>,
// as a visitor with that address, and returns the status code.
func pageFrom(host byte, url string) int {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, host)}}
	c := &http.Client{
		Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true},
		Timeout:   60 * time.Second,
	}
	resp, err := c.Get(url)
	if err != nil {
		_, _ = fmt.Fprintf(GinkgoWriter, "GET %s from 127.0.0.%d: %v\n", url, host, err)
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// creationBudgetSpecs shows a StaticPageSet's maxCreationRate holding as
// one budget across four server processes, with the chart's flags and
// RBAC. It runs inside the ordered user flow, after the binaries start.
func creationBudgetSpecs(serverKube *string, serverArgs *[]string) {
	It("holds a set's creation budget across four server replicas, and a client's share of it", func() {
		origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprintf(w, "budget %s", r.URL.Path)
		}))
		DeferCleanup(origin.Close)
		const rate = 2
		out, err := applyYAML(fmt.Sprintf(`apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPageSet
metadata: {name: budget}
spec:
  route: /budget/{id}
  origin: {url: "%s/{id}"}
  maxCreationRate: %d
`, origin.URL, rate))
		Expect(err).NotTo(HaveOccurred(), out)
		DeferCleanup(func() {
			_, _ = run(kubectlBin, "delete", "staticpageset", "budget", "--ignore-not-found")
		})
		kubectl("wait", "--for=condition=Ready", "staticpageset/budget", "--timeout=60s")
		// Started after the set is Ready, each routes it once ready.
		var servers [4]*serverProc
		for i := range servers {
			servers[i] = startServer(fmt.Sprintf("server-budget-%d", i), *serverKube, *serverArgs)
		}

		// created counts the set's pages whose route starts with prefix.
		created := func(prefix string) int {
			n := 0
			for r := range strings.FieldsSeq(kubectl("get", "staticpages", "-l", "pages.isr-operator.io/set=budget",
				"-o", "jsonpath={.items[*].spec.route}")) {
				if strings.HasPrefix(r, prefix) {
					n++
				}
			}
			return n
		}
		// burst asks, at once, for n new paths under prefix, spread over
		// the four servers, request i from 127.0.0.<client(i)>; it returns
		// the answers by status and how many one-second windows (Unix
		// seconds, the budget's windows) the burst spanned.
		burst := func(prefix string, n int, client func(int) byte) (map[int]int, int64) {
			codes := make([]int, n)
			var wg sync.WaitGroup
			start := time.Now()
			for i := range n {
				wg.Go(func() {
					codes[i] = pageFrom(client(i), fmt.Sprintf("%s%s%d", servers[i%len(servers)].url, prefix, i))
				})
			}
			wg.Wait()
			windows := time.Now().Unix() - start.Unix() + 1
			byCode := map[int]int{}
			for _, c := range codes {
				byCode[c]++
			}
			return byCode, windows
		}

		By("many clients: the four replicas together create at most maxCreationRate pages a second")
		codes, windows := burst("/budget/a-", 40, func(i int) byte { return byte(10 + i) })
		n := created("/budget/a-")
		report("creation budget %d/s over 4 replicas, 40 new paths from 40 clients: %d created in %d window(s), answers %v", rate, n, windows, codes)
		Expect(n).To(BeNumerically(">=", 1))
		Expect(n).To(BeNumerically("<=", rate*windows), "each replica alone would create %d in the first window", rate)
		Expect(codes[http.StatusServiceUnavailable]).To(Equal(40-n), "answers: %v", codes)

		By("one client: at most its share, ceil(maxCreationRate/4) a second")
		// In a window of its own: the first burst's may have no set slot
		// left.
		time.Sleep(time.Until(time.Unix(time.Now().Unix()+1, 0)))
		codes, windows = burst("/budget/b-", 20, func(int) byte { return 200 })
		n = created("/budget/b-")
		report("creation budget %d/s over 4 replicas, 20 new paths from one client: %d created in %d window(s)", rate, n, windows)
		Expect(n).To(BeNumerically(">=", 1))
		Expect(n).To(BeNumerically("<=", windows), "one client's share is 1 a second")
		Expect(codes[http.StatusServiceUnavailable]).To(Equal(20-n), "answers: %v", codes)
	})
}
