//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/isr-operator/isr-operator/internal/testorigin"
)

// pageFlowSpecs follow one page, from an origin they control, through the
// core flows with the binaries the install runs at that point: rendered
// and served with its headers, stale, kubectl annotate and kubectl wait,
// the revalidate API with wait, an origin outage, withdrawn on 404, and
// deleted. "A user's day" runs them on ConfigMaps, then again once the
// install is on the object store: what a user sees must not depend on
// where pages are kept. serverURL and apiURL are the serving server's
// pages and revalidate API, read when the specs run.
func pageFlowSpecs(backend string, serverURL, apiURL func() string) {
	Describe("a page's core flows on "+backend, Ordered, func() {
		var o *testorigin.Origin
		name := "flows-" + strings.ToLower(backend)
		route := "/flows/" + strings.ToLower(backend)
		// Long enough to compress, so that every coding is stored.
		body := strings.Repeat("<p>a page of the core flows</p>\n", 40)
		url := func() string { return serverURL() + route }
		ready := func(field string) string {
			return kubectl("get", "staticpage", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].`+field+`}`)
		}
		served := func() string { _, b, _ := page(url()); return b }

		BeforeAll(func() {
			o = testorigin.New(body)
			o.SetCounting(true) // every render is new content: "... #<n>"
		})

		It("renders a page, serves it with its headers, and answers 304 to its ETag", func() {
			apply(name, route, o.URL+route, "")
			kubectl("wait", "--for=condition=Ready", "staticpage/"+name, "--timeout=60s")
			digest := strings.TrimPrefix(kubectl("get", "staticpage", name, "-o", "jsonpath={.status.digest}"), "sha256:")

			var etag string
			Eventually(func(g Gomega) {
				code, b, hdr := page(url())
				g.Expect(code).To(Equal(http.StatusOK))
				g.Expect(b).To(HavePrefix(body))
				g.Expect(hdr.Get("Cache-Control")).To(ContainSubstring("s-maxage="))
				g.Expect(hdr.Get("Cache-Status")).To(Equal("isr-operator; hit"), "a page without an interval is never stale")
				g.Expect(hdr.Get("Age")).NotTo(BeEmpty())
				g.Expect(hdr.Get("Last-Modified")).NotTo(BeEmpty())
				etag = hdr.Get("ETag")
				g.Expect(etag).To(HavePrefix(`"`+digest), "one ETag per coding, all from the digest")
			}).Should(Succeed())
			code, hdr := request(url(), "Accept-Encoding", "gzip")
			Expect(code).To(Equal(http.StatusOK))
			Expect(hdr.Get("Content-Encoding")).To(Equal("gzip"))
			Expect(hdr.Get("Vary")).To(Equal("Accept-Encoding"))
			code, _ = request(url(), "If-None-Match", etag)
			Expect(code).To(Equal(http.StatusNotModified))
		})

		It("serves a page stale at once after its interval, and the new render after that", func() {
			// OnRequest: the server asks for the re-render a stale hit calls
			// for. A page of its own, so that its stale hits ask for nothing
			// while the other specs annotate theirs.
			stale := name + "-stale"
			staleURL := serverURL() + route + "/stale"
			apply(stale, route+"/stale", o.URL+route, "  revalidate: 2s\n  revalidateMode: OnRequest\n")
			kubectl("wait", "--for=condition=Ready", "staticpage/"+stale, "--timeout=60s")
			var first string
			Eventually(func(g Gomega) {
				code, b, hdr := page(staleURL)
				g.Expect(code).To(Equal(http.StatusOK))
				g.Expect(hdr.Get("Cache-Control")).To(ContainSubstring("s-maxage=2,"))
				first = b
			}).Should(Succeed())
			Eventually(func(g Gomega) {
				code, b, hdr := page(staleURL)
				g.Expect(code).To(Equal(http.StatusOK))
				g.Expect(hdr.Get("Cache-Status")).To(HaveSuffix("; detail=stale"))
				g.Expect(hdr.Get("Age")).NotTo(Equal("0"))
				g.Expect(b).To(Equal(first), "the stale page at once, not a wait for the origin")
			}).Should(Succeed())
			Eventually(func() string { _, b, _ := page(staleURL); return b }).ShouldNot(Equal(first), "the stale hit asked for a re-render")
			Expect(kubectl("get", "staticpage", stale, "-o", "jsonpath={.metadata.annotations.isr-operator\\.io/revalidate}")).To(HavePrefix("stale-"))
			kubectl("delete", "staticpage", stale, "--timeout=60s")
		})

		It("re-renders on kubectl annotate, which kubectl wait sees", func() {
			before := served()
			kubectl("annotate", "staticpage", name, "isr-operator.io/revalidate=flows-1", "--overwrite")
			kubectl("wait", "staticpage/"+name, "--for=jsonpath={.status.lastHandledRevalidate}=flows-1", "--timeout=60s")
			Eventually(served).ShouldNot(Equal(before))
		})

		It("re-renders through the revalidate API, answering once the new page is served", func() {
			before := served()
			req, err := http.NewRequest(http.MethodPost, apiURL(), strings.NewReader(`{"paths": ["`+route+`"], "wait": true}`))
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer e2e-token")
			resp, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusOK), string(b))
			Expect(string(b)).To(ContainSubstring(`"live":true`))
			Expect(served()).NotTo(Equal(before), "the new render is served when the call returns")
		})

		It("keeps the last good page while the origin fails, says why, and recovers", func() {
			good := served()
			o.Set(http.StatusInternalServerError, "<h1>500</h1>")
			kubectl("annotate", "staticpage", name, "isr-operator.io/revalidate=flows-outage", "--overwrite")
			Eventually(func(g Gomega) {
				g.Expect(ready("status")).To(Equal("False"))
				g.Expect(ready("reason")).To(Equal("OriginError"))
			}).Should(Succeed())
			Expect(ready("message")).To(ContainSubstring("still serving"))
			Consistently(served, "2s", "200ms").Should(Equal(good), "the last good page stays served")

			o.Set(http.StatusOK, body)
			kubectl("wait", "staticpage/"+name, "--for=jsonpath={.status.lastHandledRevalidate}=flows-outage", "--timeout=60s")
			kubectl("wait", "--for=condition=Ready", "staticpage/"+name, "--timeout=60s")
			Eventually(served).ShouldNot(Equal(good))
		})

		It("withdraws the page when the origin answers 404, and serves it again once it is back", func() {
			o.Set(http.StatusNotFound, "gone")
			kubectl("annotate", "staticpage", name, "isr-operator.io/revalidate=flows-gone", "--overwrite")
			Eventually(func(g Gomega) { g.Expect(ready("reason")).To(Equal("Withdrawn")) }).Should(Succeed())
			Eventually(func() int { c, _, _ := page(url()); return c }).Should(Equal(http.StatusNotFound))

			o.Set(http.StatusOK, body)
			kubectl("annotate", "staticpage", name, "isr-operator.io/revalidate=flows-back", "--overwrite")
			kubectl("wait", "--for=condition=Ready", "staticpage/"+name, "--timeout=60s")
			Eventually(func() int { c, _, _ := page(url()); return c }).Should(Equal(http.StatusOK))
		})

		It("stops serving the page once it is deleted", func() {
			kubectl("delete", "staticpage", name, "--timeout=60s")
			Eventually(func() int { c, _, _ := page(url()); return c }).Should(Equal(http.StatusNotFound))
		})
	})
}

// apply creates or updates the StaticPage name at route from origin, with
// extra spec lines.
func apply(name, route, origin, extra string) {
	manifest := fmt.Sprintf("apiVersion: pages.isr-operator.io/v1alpha1\nkind: StaticPage\nmetadata: {name: %s}\n"+
		"spec:\n  route: %s\n  origin: {url: %q}\n%s", name, route, origin, extra)
	out, err := runEnv(adminKube, []byte(manifest), kubectlBin, "apply", "-f", "-")
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), out)
}

// request GETs url with the given header pairs, keeping the body as sent
// (the client decompresses nothing it did not ask for itself), and returns
// the status and headers.
func request(url string, hdr ...string) (int, http.Header) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header
}
