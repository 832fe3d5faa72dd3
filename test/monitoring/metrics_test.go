// Package monitoring checks the alerts and the dashboard against the
// metrics the binaries export, so that a renamed metric cannot leave an
// alert or a panel silently empty. promtool unit-tests the alerts
// themselves (alerts.test.yaml, `make test-rules`).
package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/controllers"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/revalidateapi"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// chartFiles holds the alerts' and the dashboard's one source.
var chartFiles = filepath.Join(testenv.Root(), "charts", "isr-operator", "files", "monitoring")

// ruleExpressions are the expressions of the rules file, by alert.
func ruleExpressions(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartFiles, "prometheus-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct{ Alert, Record, Expr string }
		}
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			out["alert "+r.Alert+r.Record] = r.Expr
		}
	}
	if len(out) == 0 {
		t.Fatal("no rules in the rules file")
	}
	return out
}

// dashboardExpressions are the queries of the dashboard's panels and
// variables, by panel title.
func dashboardExpressions(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartFiles, "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name  string
				Query any
			}
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	out := map[string]string{}
	for _, p := range dash.Panels {
		for i, target := range p.Targets {
			out[fmt.Sprintf("panel %q, query %d", p.Title, i)] = target.Expr
		}
	}
	if len(out) == 0 {
		t.Fatal("no queries in the dashboard")
	}
	for _, v := range dash.Templating.List {
		q, _ := v.Query.(string)
		if m := labelValuesQuery.FindStringSubmatch(q); m != nil {
			out["variable "+v.Name] = m[1]
		}
	}
	return out
}

// targetSeries are the series Prometheus itself records for every target it
// scrapes, which no binary exports.
var targetSeries = map[string]bool{"up": true}

// labelValuesQuery is a Grafana variable's label_values(selector, label).
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// grafanaVariables are the variables of the dashboard's queries that are
// no PromQL, with a value that parses.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// metricNames parses expr with the PromQL parser and returns the metric
// names its selectors name.
func metricNames(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVariables.Replace(expr))
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				name = m.Value
			}
		}
		names = append(names, name)
		return nil
	})
	if len(names) == 0 {
		return nil, fmt.Errorf("names no metric")
	}
	return names, nil
}

// family is the metric family a series name belongs to: a histogram's or a
// summary's _bucket, _sum and _count series are its family's.
func family(name string, families map[string]bool) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && families[base] {
			return base
		}
	}
	return name
}

// scrape reads the metric families exported at url, with the series they
// have.
func scrape(t *testing.T, url string) map[string]int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	tp := expfmt.NewTextParser(model.UTF8Validation)
	families, err := tp.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	out := map[string]int{}
	for name, f := range families {
		out[name] = len(f.GetMetric())
	}
	return out
}

// described lists the metric families registered on reg, series or not
// (a vector has none until its first labels are used).
func described(reg prometheus.Collector) map[string]bool {
	ch := make(chan *prometheus.Desc)
	go func() { reg.Describe(ch); close(ch) }()
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	out := map[string]bool{}
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

// TestEveryRuleAndPanelMetricIsExported runs the manager's controllers and
// a server on a real API server, with a page rendered and served and a page
// failing, scrapes the metrics endpoint, and checks that every metric an
// alert or a dashboard query names is exported: with series, or, for a
// labelled metric nothing has used yet, registered.
func TestEveryRuleAndPanelMetricIsExported(t *testing.T) {
	g := NewWithT(t)
	cfg, c := testenv.StartT(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	const ns = "monitoring"
	g.Expect(c.Create(ctx, testenv.Namespace(ns))).To(Succeed())

	secret := types.NamespacedName{Namespace: ns, Name: "revalidate"}
	g.Expect(c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: secret.Namespace, Name: secret.Name},
		StringData: map[string]string{revalidateapi.TokenKey: "the-right-token"},
	})).To(Succeed())

	// The manager's controllers, and a server with its revalidate API, as
	// cmd/manager and cmd/server wire them, in one manager of this process.
	mgr, err := testenv.NewManager(cfg, revalidateapi.WatchSecret(kube.CacheOptions([]string{ns}), secret))
	g.Expect(err).NotTo(HaveOccurred())
	opts := controllers.DefaultOptions()
	opts.AllowOrigins = []string{"127.0.0.1"}
	_, err = controllers.Setup(mgr, opts)
	g.Expect(err).NotTo(HaveOccurred())
	srv, err := server.Setup(ctx, mgr, server.DefaultOptions())
	g.Expect(err).NotTo(HaveOccurred())
	apiOpts := revalidateapi.DefaultOptions()
	apiOpts.BindAddress, apiOpts.Secret = "", secret.String()
	api, err := revalidateapi.Setup(ctx, mgr, apiOpts, srv.Table, nil)
	g.Expect(err).NotTo(HaveOccurred())
	go func() { _ = mgr.Start(ctx) }()

	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<h1>watched</h1>")
	}))
	t.Cleanup(good.Close)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(bad.Close)
	for name, url := range map[string]string{"good": good.URL, "bad": bad.URL} {
		g.Expect(c.Create(ctx, &pagesv1alpha1.StaticPage{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: pagesv1alpha1.StaticPageSpec{
				Route:      "/" + name,
				Origin:     pagesv1alpha1.Origin{URL: url},
				Revalidate: &metav1.Duration{Duration: time.Hour},
			},
		})).To(Succeed())
	}
	g.Eventually(func() int {
		return testenv.Serve(srv.Handler, "example.com", "/good").Code
	}).WithTimeout(30 * time.Second).Should(Equal(http.StatusOK))
	testenv.Serve(srv.Handler, "example.com", "/nothing")
	refused := httptest.NewRequest(http.MethodPost, revalidateapi.Path, strings.NewReader(`{"paths":["/good"]}`))
	refused.Header.Set("Authorization", "Bearer a-wrong-token")
	g.Eventually(func() int {
		w := httptest.NewRecorder()
		api.ServeHTTP(w, refused)
		return w.Code
	}).Should(Equal(http.StatusUnauthorized))

	// What the binaries serve on --metrics-bind-address.
	metrics := httptest.NewServer(promhttp.HandlerFor(ctrlmetrics.Registry, promhttp.HandlerOpts{}))
	t.Cleanup(metrics.Close)
	var scraped map[string]int
	g.Eventually(func() int {
		scraped = scrape(t, metrics.URL)
		return scraped["isr_pages_not_ready"]
	}).WithTimeout(30*time.Second).Should(BeNumerically(">", 0), "the failing page is counted")
	reg, ok := ctrlmetrics.Registry.(prometheus.Collector)
	if !ok {
		t.Fatalf("controller-runtime's registry %T describes nothing", ctrlmetrics.Registry)
	}
	registered := described(reg)
	known := map[string]bool{}
	for name := range scraped {
		known[name] = true
	}

	exprs := ruleExpressions(t)
	maps.Copy(exprs, dashboardExpressions(t))
	keys := make([]string, 0, len(exprs))
	for k := range exprs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		names, err := metricNames(exprs[k])
		if err != nil {
			t.Errorf("%s: %q: %v", k, exprs[k], err)
			continue
		}
		for _, name := range names {
			f := family(name, known)
			switch {
			case targetSeries[name]:
			case scraped[f] > 0:
			case registered[family(name, registered)]:
				t.Logf("%s: %s is registered and has no series yet", k, name)
			default:
				t.Errorf("%s names %s, which neither the manager nor the server exports", k, name)
			}
		}
	}
}
