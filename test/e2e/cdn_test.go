//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/isr-operator/isr-operator/internal/testenv/varnishtest"
)

// cdnNamespace holds the pages and the CDN object of cdnSpecs, so that no
// other spec's page is purged.
const cdnNamespace = "cdn-shop"

// restartManager replaces the manager process by one with the chart's
// current flags and identity, as a rollout replaces its pod, with its
// metrics on metrics, and waits until it is ready.
func restartManager(metrics string) {
	stopProcess("manager")
	sa, args := workload("manager")
	probe := freePort()
	startEnv("manager", []string{"KUBECONFIG=" + serviceAccountKubeconfig(namespace, sa), "POD_NAMESPACE=" + namespace},
		filepath.Join(workDir, "manager"),
		append(args, "--metrics-bind-address="+metrics, fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe))...)
	EventuallyWithOffset(1, func() int {
		code, _, _ := page(fmt.Sprintf("http://127.0.0.1:%d/readyz", probe))
		return code
	}).Should(Equal(http.StatusOK), "the manager starts with the chart's flags")
}

// varnishAnswer is what a visitor through Varnish got.
type varnishAnswer struct {
	body string
	// hit is true when Varnish answered from its cache: X-Varnish then
	// holds two transaction ids, this request's and the one that cached
	// the object.
	hit bool
	// cachedBy is the id of the transaction that cached the object
	// answered, on a hit.
	cachedBy string
}

// throughVarnish asks the Varnish at base for path, as a visitor.
func throughVarnish(g Gomega, base, path string) varnishAnswer {
	resp, err := http.Get(base + path)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), string(b))
	g.Expect(resp.Header.Values("Xkey")).To(BeEmpty(), "the tags stay in Varnish")
	g.Expect(resp.Header.Values("CDN-Cache-Control")).To(BeEmpty(), "Varnish's lifetime stays in Varnish")
	ids := strings.Fields(resp.Header.Get("X-Varnish"))
	a := varnishAnswer{body: string(b), hit: len(ids) == 2}
	if a.hit {
		a.cachedBy = ids[1]
	}
	return a
}

// cdnSpecs configure the chart for a Varnish in front of the server (xkey
// tags, an hour's lifetime in Varnish, purges once the server serves the
// new content), run a server and the manager with the chart's flags, put a
// real Varnish with hack/varnish/default.vcl in front of that server, as
// `make demo CDN=varnish` does, and follow two pages through it. The
// chart's values and the manager are restored afterwards. serverKube is
// the server's kubeconfig; managerMetrics is where the manager's metrics
// listen.
func cdnSpecs(serverKube, managerMetrics *string) {
	It("shows a page's new content through a real Varnish after kubectl annotate, another page staying a hit", func() {
		port := freePort()
		serverURL := fmt.Sprintf("http://127.0.0.1:%d", port)
		// Skipped when varnishd or the xkey module is missing.
		varnish := varnishtest.Start(GinkgoT(), fmt.Sprintf("127.0.0.1:%d", port))

		By("configuring the chart for Varnish and rolling the manager")
		helm("upgrade", release, chart, "-n", namespace, "--reuse-values",
			"--set-json", `server.cdn.tagHeaders=["xkey"]`,
			"--set", "server.cdn.cacheControl=max-age=3600",
			"--set-json", fmt.Sprintf("manager.cdnPurge.servers=[%q]", serverURL))
		DeferCleanup(func() {
			helm("upgrade", release, chart, "-n", namespace, "--reuse-values",
				"--set-json", "server.cdn.tagHeaders=[]",
				"--set", "server.cdn.cacheControl=",
				"--set-json", "manager.cdnPurge.servers=[]")
			restartManager(*managerMetrics)
		})
		_, managerArgs := workload("manager")
		Expect(managerArgs).To(ContainElement("--cdn-purge-servers=" + serverURL))
		restartManager(*managerMetrics)
		_, serverArgs := workload("server")
		Expect(serverArgs).To(ContainElements("--cdn-tag-headers=xkey", "--cdn-cache-control=max-age=3600"))
		startServer("server-cdn", *serverKube, serverArgs, fmt.Sprintf("--listen-address=127.0.0.1:%d", port))

		By("applying a CDN for that Varnish and two pages rendered only on demand")
		var mu sync.Mutex
		versions := map[string]int{"/cdn/a": 1, "/cdn/b": 1}
		origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			v, ok := versions[r.URL.Path]
			mu.Unlock()
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprintf(w, "<p>%s v%d</p>\n", r.URL.Path, v)
		}))
		DeferCleanup(origin.Close)
		kubectl("create", "namespace", cdnNamespace)
		DeferCleanup(func() { kubectl("delete", "namespace", cdnNamespace, "--wait=false") })
		kubectl("annotate", "namespace", cdnNamespace, "--overwrite", "isr-operator.io/hosts=*")
		manifest := fmt.Sprintf(`apiVersion: pages.isr-operator.io/v1alpha1
kind: CDN
metadata: {name: varnish, namespace: %[1]s}
spec:
  provider: varnish
  varnish:
    urls: [%[2]q]
---
apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPage
metadata: {name: cdn-a, namespace: %[1]s}
spec:
  route: /cdn/a
  origin: {url: %[3]q}
---
apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPage
metadata: {name: cdn-b, namespace: %[1]s}
spec:
  route: /cdn/b
  origin: {url: %[4]q}
`, cdnNamespace, varnish.URL, origin.URL+"/cdn/a", origin.URL+"/cdn/b")
		out, err := applyYAML(manifest)
		Expect(err).NotTo(HaveOccurred(), out)
		kubectl("wait", "-n", cdnNamespace, "--for=condition=Ready", "staticpage/cdn-a", "staticpage/cdn-b", "--timeout=60s")
		// The purge of a page's first content follows its publication; one
		// landing after Varnish cached the page would evict it, so the
		// spec starts from purged pages.
		purged := func(g Gomega, name string) {
			status := kubectl("get", "staticpage", name, "-n", cdnNamespace,
				"-o", "jsonpath={.status.lastPurge.result} {.status.lastPurge.digest} {.status.digest}")
			f := strings.Fields(status)
			g.Expect(f).To(HaveLen(3), status)
			g.Expect(f[0]).To(Equal("Purged"))
			g.Expect(f[1]).To(Equal(f[2]), "the purge made the current content visible")
		}
		for _, name := range []string{"cdn-a", "cdn-b"} {
			Eventually(func(g Gomega) { purged(g, name) }).Should(Succeed())
		}

		By("asking Varnish twice for each page: the second answer is a hit")
		hits := map[string]varnishAnswer{}
		for _, path := range []string{"/cdn/a", "/cdn/b"} {
			first := throughVarnish(Default, varnish.URL, path)
			Expect(first.body).To(ContainSubstring(path + " v1"))
			second := throughVarnish(Default, varnish.URL, path)
			Expect(second.body).To(Equal(first.body))
			Expect(second.hit).To(BeTrue(), "Varnish keeps the page for its CDN-Cache-Control hour")
			hits[path] = second
		}

		By("changing page a at its origin and revalidating it with kubectl annotate")
		mu.Lock()
		versions["/cdn/a"] = 2
		mu.Unlock()
		kubectl("annotate", "staticpage", "cdn-a", "-n", cdnNamespace, "isr-operator.io/revalidate=cdn-1", "--overwrite")
		Eventually(func(g Gomega) {
			g.Expect(throughVarnish(g, varnish.URL, "/cdn/a").body).To(ContainSubstring("/cdn/a v2"))
		}).Should(Succeed(), "the purge brings a's new content to visitors of Varnish")
		Eventually(func(g Gomega) { purged(g, "cdn-a") }).Should(Succeed())
		Expect(throughVarnish(Default, varnish.URL, "/cdn/a").hit).To(BeTrue(), "and Varnish keeps the new content")

		By("page b is still the object Varnish cached before")
		b := throughVarnish(Default, varnish.URL, "/cdn/b")
		Expect(b.body).To(Equal(hits["/cdn/b"].body))
		Expect(b.hit).To(BeTrue(), "b is answered from Varnish's cache")
		Expect(b.cachedBy).To(Equal(hits["/cdn/b"].cachedBy), "b was not purged nor fetched again")
		Expect(kubectl("get", "cdn", "varnish", "-n", cdnNamespace, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`)).To(Equal("Purged"))
	})
}
