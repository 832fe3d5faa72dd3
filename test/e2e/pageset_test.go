//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// originRenders counts the demo origin's log lines for a request of path
// under its StaticPageSet template, /render/products/{id}: what reached
// the origin, whatever the servers did.
func originRenders(id string) int {
	b, err := os.ReadFile(filepath.Join(workDir, "origin.log"))
	Expect(err).NotTo(HaveOccurred())
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(line, "render /render/products/"+id+" ") || strings.Contains(line, "render /render/products/"+id+":") {
			n++
		}
	}
	return n
}

// applyYAML applies a manifest as the admin and returns kubectl's output
// and error.
func applyYAML(manifest string) (string, error) {
	return runEnv(adminKube, []byte(manifest), kubectlBin, "apply", "-f", "-")
}

// pageSetSpecs drives the sample StaticPageSet (config/samples: products,
// /products/{id}) as users and visitors would. It runs inside the ordered
// user flow, after the samples are applied.
func pageSetSpecs(serverURL *string, serverKube *string, serverArgs *[]string) {
	setRoutes := func() string {
		return kubectl("get", "staticpages", "-l", "pages.isr-operator.io/set=products", "-o", "jsonpath={.items[*].spec.route}")
	}

	It("prerenders a StaticPageSet's listed and sitemap paths when it is applied, but not a path with its own page", func() {
		kubectl("wait", "--for=condition=Ready", "staticpageset/products", "--timeout=60s")
		Eventually(func(g Gomega) {
			routes := strings.Fields(setRoutes())
			g.Expect(routes).To(ContainElements("/products/1", "/products/2", "/products/3"))
			g.Expect(routes).NotTo(ContainElement("/products/42"), "product-42 is its own StaticPage")
		}).Should(Succeed())
		kubectl("wait", "--for=condition=Ready", "staticpages", "-l", "pages.isr-operator.io/set=products", "--timeout=60s")
		code, body, _ := page(*serverURL + "/products/1")
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring("Product 1"))
		Expect(kubectl("get", "sps")).To(MatchRegexp(`products\s+/products/\{id\}\s+\d+\s+True\s+Blocking`))
	})

	It("renders a never-built path on its first request: one origin fetch for 50 requests over two replicas", func() {
		a := startServer("server-set-a", *serverKube, *serverArgs)
		b := startServer("server-set-b", *serverKube, *serverArgs)
		const id = "555"
		Expect(originRenders(id)).To(BeZero())
		var wg sync.WaitGroup
		codes := make([]int, 50)
		bodies := make([]string, 50)
		for i := range codes {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				s := a
				if i%2 == 1 {
					s = b
				}
				codes[i], bodies[i], _ = page(s.url + "/products/" + id)
			}(i)
		}
		wg.Wait()
		for i := range codes {
			Expect(codes[i]).To(Equal(http.StatusOK), "request %d: %s", i, bodies[i])
			Expect(bodies[i]).To(ContainSubstring("Product " + id))
		}
		Expect(originRenders(id)).To(Equal(1))
		name := kubectl("get", "staticpages", "-l", "pages.isr-operator.io/set=products,pages.isr-operator.io/created-by=request",
			"-o", "jsonpath={.items[?(@.spec.route==\"/products/"+id+"\")].metadata.name}")
		Expect(name).NotTo(BeEmpty(), "the page is a StaticPage of the set, made for the request")
		report("first request of a never-built path: 50 requests over 2 replicas, %d origin fetch", originRenders(id))
	})

	It("answers 404 for an id the origin does not have, and does not ask it again", func() {
		const id = "99999999"
		for range 3 {
			code, _, hdr := page(*serverURL + "/products/" + id)
			Expect(code).To(Equal(http.StatusNotFound))
			Expect(hdr.Get("Cache-Control")).NotTo(BeEmpty())
		}
		Expect(originRenders(id)).To(Equal(1))
	})

	It("refuses, with the server's own credentials, a page with an origin of its choosing", func() {
		serverSA, _ := workload("server")
		forged := `apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPage
metadata: {name: forged, namespace: default}
spec:
  route: /forged
  origin: {url: "http://127.0.0.2:9/latest/meta-data/"}
`
		out, err := runEnv(*serverKube, []byte(forged), kubectlBin, "create", "-f", "-")
		Expect(err).To(HaveOccurred(), out)
		Expect(out).To(ContainSubstring("isr-operator server"))
		_, err = kubectlAs(serverSA, "get", "staticpage", "forged", "-n", "default")
		Expect(err).To(HaveOccurred(), "nothing was created")
	})

	It("gives a second set claiming the same pattern Ready=False Conflict, and the first keeps serving", func() {
		out, err := applyYAML(fmt.Sprintf(`apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPageSet
metadata: {name: products-by-slug}
spec:
  route: /products/{slug}
  origin: {url: "%s/render/products/{slug}"}
`, originURL))
		Expect(err).NotTo(HaveOccurred(), out)
		DeferCleanup(func() { kubectl("delete", "staticpageset", "products-by-slug") })
		kubectl("wait", "staticpageset/products-by-slug", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=Conflict", "--timeout=60s")
		Expect(kubectl("get", "staticpageset", "products", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}")).To(Equal("True"))
		code, body, _ := page(*serverURL + "/products/556")
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring("Product 556"))
	})

	It("serves only prerendered paths with fallback NotFound", func() {
		out, err := applyYAML(fmt.Sprintf(`apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPageSet
metadata: {name: archive}
spec:
  route: /archive/{id}
  origin: {url: "%s/render/products/{id}"}
  prerender: {paths: [/archive/7]}
  fallback: NotFound
`, originURL))
		Expect(err).NotTo(HaveOccurred(), out)
		DeferCleanup(func() { kubectl("delete", "staticpageset", "archive") })
		Eventually(func() int { c, _, _ := page(*serverURL + "/archive/7"); return c }).Should(Equal(http.StatusOK))
		code, _, _ := page(*serverURL + "/archive/8")
		Expect(code).To(Equal(http.StatusNotFound))
		Expect(originRenders("8")).To(BeZero())
	})

	It("answers 502, 504 and 503 as the origin and the set's bounds say, and a deleted set takes its pages", func() {
		// Ids starting with f fail, with s take 3s, any other renders.
		origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := path.Base(r.URL.Path)
			switch {
			case strings.HasPrefix(id, "f"):
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			case strings.HasPrefix(id, "s"):
				time.Sleep(3 * time.Second)
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprintf(w, "bounded %s", id)
		}))
		DeferCleanup(origin.Close)
		out, err := applyYAML(fmt.Sprintf(`apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPageSet
metadata: {name: bounds}
spec:
  route: /bounds/{id}
  origin: {url: "%[1]s/{id}"}
  maxPages: 2
---
apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPageSet
metadata: {name: slow-creations}
spec:
  route: /rate/{id}
  origin: {url: "%[1]s/{id}"}
  maxCreationRate: 1
`, origin.URL))
		Expect(err).NotTo(HaveOccurred(), out)
		DeferCleanup(func() {
			_, _ = run(kubectlBin, "delete", "staticpageset", "bounds", "slow-creations", "--ignore-not-found")
		})
		kubectl("wait", "--for=condition=Ready", "staticpageset/bounds", "staticpageset/slow-creations", "--timeout=60s")
		s := startServer("server-set-bounds", *serverKube, *serverArgs, "--fallback-timeout=1s")
		// A replica routes a set once it has seen it Ready.
		Eventually(func() int { c, _, _ := page(s.url + "/bounds/1"); return c }).Should(Equal(http.StatusOK))

		By("an origin error: 502, nothing kept")
		code, _, hdr := page(s.url + "/bounds/f1")
		Expect(code).To(Equal(http.StatusBadGateway))
		Expect(hdr.Get("Cache-Control")).To(Equal("no-store"))
		Eventually(func() string {
			return kubectl("get", "staticpages", "-l", "pages.isr-operator.io/set=bounds", "-o", "jsonpath={.items[*].spec.route}")
		}).Should(Equal("/bounds/1"))

		By("an origin slower than --fallback-timeout: 504, then the page serves later requests")
		code, _, _ = page(s.url + "/bounds/s1")
		Expect(code).To(Equal(http.StatusGatewayTimeout))
		Eventually(func() string { _, b, _ := page(s.url + "/bounds/s1"); return b }).Should(Equal("bounded s1"))

		By("a full set: 503 with Retry-After, and Full on the set")
		code, _, hdr = page(s.url + "/bounds/3")
		Expect(code).To(Equal(http.StatusServiceUnavailable))
		Expect(hdr.Get("Retry-After")).NotTo(BeEmpty())
		kubectl("wait", "staticpageset/bounds", "--for=condition=Full", "--timeout=60s")

		By("over maxCreationRate: 503 with Retry-After")
		Eventually(func() int { c, _, _ := page(s.url + "/rate/1"); return c }).Should(Equal(http.StatusOK))
		codes := map[int]int{}
		for i := 2; i <= 5; i++ {
			c, _, h := page(fmt.Sprintf("%s/rate/%d", s.url, i))
			codes[c]++
			if c == http.StatusServiceUnavailable {
				Expect(h.Get("Retry-After")).NotTo(BeEmpty())
			}
		}
		Expect(codes[http.StatusServiceUnavailable]).To(BeNumerically(">=", 1), "answers: %v", codes)

		By("deleting the set")
		kubectl("delete", "staticpageset", "bounds", "--timeout=60s")
		Expect(kubectl("get", "staticpages", "-l", "pages.isr-operator.io/set=bounds", "-o", "name")).To(BeEmpty())
		Eventually(func() int { c, _, _ := page(s.url + "/bounds/1"); return c }).Should(Equal(http.StatusNotFound))
	})

	DescribeTable("refuses invalid StaticPageSets at apply time and creates nothing",
		func(spec, message string) {
			name := "invalid-set-" + fmt.Sprint(GinkgoRandomSeed()%1000)
			out, err := applyYAML(fmt.Sprintf("apiVersion: pages.isr-operator.io/v1alpha1\nkind: StaticPageSet\nmetadata:\n  name: %s\nspec:\n%s", name, spec))
			Expect(err).To(HaveOccurred())
			Expect(out).To(ContainSubstring(message))
			out, _ = run(kubectlBin, "get", "staticpageset", name)
			Expect(out).To(ContainSubstring("NotFound"))
		},
		Entry("a route with no parameter", "  route: /products/all\n  origin: {url: \"http://o.example/\"}\n", "route must have at least one parameter"),
		Entry("a rest parameter not last", "  route: /docs/{path...}/x\n  origin: {url: \"http://o.example/\"}\n", "must be the last segment"),
		Entry("a parameter inside a segment", "  route: /p-{id}\n  origin: {url: \"http://o.example/{id}\"}\n", "must fill a whole segment"),
		Entry("a template name the route lacks", "  route: /p/{id}\n  origin: {url: \"http://o.example/{slug}\"}\n", "origin.url may use only parameters that route defines"),
		Entry("an origin that is not http(s)", "  route: /p/{id}\n  origin: {url: \"ftp://o.example/{id}\"}\n", "origin.url must be an absolute http:// or https:// URL"),
		Entry("maxPages 0", "  route: /p/{id}\n  origin: {url: \"http://o.example/{id}\"}\n  maxPages: 0\n", "maxPages"),
		Entry("maxPages over the cap", "  route: /p/{id}\n  origin: {url: \"http://o.example/{id}\"}\n  maxPages: 100001\n", "maxPages"),
		Entry("a sitemap that is not http(s)", "  route: /p/{id}\n  origin: {url: \"http://o.example/{id}\"}\n  prerender: {sitemap: file:///etc/passwd}\n", "prerender.sitemap must be an absolute http:// or https:// URL"),
	)

	It("reports a parameter name used twice as InvalidSpec", func() {
		out, err := applyYAML(`apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPageSet
metadata: {name: twice}
spec:
  route: /t/{id}/{id}
  origin: {url: "http://o.example/{id}"}
`)
		Expect(err).NotTo(HaveOccurred(), out)
		DeferCleanup(func() { kubectl("delete", "staticpageset", "twice") })
		kubectl("wait", "staticpageset/twice", "--for=jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}=InvalidSpec", "--timeout=60s")
		Expect(kubectl("get", "staticpageset", "twice", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].message}")).To(ContainSubstring("twice"))
	})
}
