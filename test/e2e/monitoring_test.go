//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.yaml.in/yaml/v3"
)

// promQuery runs an instant query on the Prometheus at base and returns
// the labels of each series of its result.
func promQuery(g Gomega, base, query string) []map[string]string {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
			}
		}
	}
	g.Expect(json.NewDecoder(resp.Body).Decode(&out)).To(Succeed())
	g.Expect(out.Status).To(Equal("success"), out.Error)
	series := make([]map[string]string, 0, len(out.Data.Result))
	for _, r := range out.Data.Result {
		series = append(series, r.Metric)
	}
	return series
}

// alertExpr is the expression of an alert of the chart's rules file.
func alertExpr(alert string) string {
	b, err := os.ReadFile(filepath.Join(root, "charts", "isr-operator", "files", "monitoring", "prometheus-rules.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var file struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	Expect(yaml.Unmarshal(b, &file)).To(Succeed())
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert == alert {
				return r.Expr
			}
		}
	}
	Fail("no alert " + alert + " in the rules file")
	return ""
}

// monitoringSpecs has a real Prometheus (Debian's, as `make demo
// MONITORING=1` runs it) scrape the running manager and server, whose
// metrics listen on *managerMetrics and *serverMetrics, with the chart's
// rules loaded, and evaluate an alert with a stale page present.
func monitoringSpecs(managerMetrics, serverMetrics *string) {
	It("is scraped by a real Prometheus, whose IsrPagesStale expression finds a stale page", func() {
		prometheus, err := exec.LookPath("prometheus")
		if err != nil {
			Skip("no prometheus: run hack/install-prometheus.sh")
		}
		dir := filepath.Join(workDir, "prometheus")
		Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
		config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %s
scrape_configs:
  - job_name: isr-manager
    honor_labels: true
    static_configs: [{targets: [%q], labels: {isr_component: manager}}]
  - job_name: isr-server
    honor_labels: true
    static_configs: [{targets: [%q], labels: {isr_component: server}}]
`, filepath.Join(root, "charts", "isr-operator", "files", "monitoring", "prometheus-rules.yaml"), *managerMetrics, *serverMetrics)
		Expect(os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600)).To(Succeed())
		base := fmt.Sprintf("http://127.0.0.1:%d", freePort())
		start("prometheus", prometheus, "--config.file="+filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+base[len("http://"):])

		By("scraping both binaries for a few cycles")
		Eventually(func(g Gomega) {
			for _, job := range []string{"isr-manager", "isr-server"} {
				g.Expect(promQuery(g, base, fmt.Sprintf(`count_over_time(up{job=%q}[1m]) >= 3 and up{job=%q} == 1`, job, job))).To(HaveLen(1), job)
			}
		}).WithTimeout(90 * time.Second).Should(Succeed())

		By("making a page stale: its origin fails from the start, its interval is 1s")
		failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}))
		DeferCleanup(failing.Close)
		kubectl("create", "namespace", "stale-shop")
		kubectl("annotate", "namespace", "stale-shop", "--overwrite", "isr-operator.io/hosts=*")
		page := fmt.Sprintf(`apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPage
metadata: {name: stuck, namespace: stale-shop}
spec:
  route: /stuck
  origin: {url: %q}
  revalidate: 1s
`, failing.URL)
		out, err := runEnv(adminKube, []byte(page), kubectlBin, "apply", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), out)
		DeferCleanup(func() { kubectl("delete", "namespace", "stale-shop", "--wait=false") })

		expr := alertExpr("IsrPagesStale")
		Eventually(func(g Gomega) {
			g.Expect(promQuery(g, base, expr)).To(ContainElement(HaveKeyWithValue("namespace", "stale-shop")))
		}).WithTimeout(90 * time.Second).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(promQuery(g, base, `ALERTS{alertname="IsrPagesStale", namespace="stale-shop"}`)).To(HaveLen(1))
		}).Should(Succeed(), "the rule sees it too: the alert is pending until its for passes")
	})
}
