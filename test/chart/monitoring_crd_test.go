package chart

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/isr-operator/isr-operator/internal/testenv"
)

// monitoringAPI starts an API server with the Prometheus Operator's CRDs
// of testdata/prometheus-operator, and the chart's namespace.
func monitoringAPI(t *testing.T) client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	t.Setenv("KUBEBUILDER_ASSETS", filepath.Join(testenv.Root(), "bin", "k8s"))
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("testdata", "prometheus-operator")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the control plane (run 'make tools' first): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// createStrictly creates o on the API server as a dry run, refusing any
// field its schema does not know.
func createStrictly(c client.Client, o object) error {
	u := &unstructured.Unstructured{Object: map[string]any(o)}
	return c.Create(context.Background(), u, client.DryRunAll, client.FieldValidation("Strict"))
}

// TestMonitoringObjectsMatchTheirCRDs renders the ServiceMonitor, the
// PodMonitor, the PrometheusRule and the dashboard ConfigMap with every
// value set, and has a real API server with the Prometheus Operator's CRDs
// accept each, strictly.
func TestMonitoringObjectsMatchTheirCRDs(t *testing.T) {
	c := monitoringAPI(t)
	scrape := func(kind string) []string {
		p := "monitoring." + kind + "."
		return []string{
			p + "enabled=true", p + "additionalLabels.release=kube-prometheus-stack",
			p + "interval=30s", p + "scrapeTimeout=10s",
			p + "relabelings[0].sourceLabels[0]=__meta_kubernetes_pod_node_name", p + "relabelings[0].targetLabel=node",
			p + "metricRelabelings[0].sourceLabels[0]=__name__", p + "metricRelabelings[0].regex=go_gc_.*", p + "metricRelabelings[0].action=drop",
		}
	}
	common := []string{
		"monitoring.prometheusRule.enabled=true", "monitoring.prometheusRule.additionalLabels.release=kube-prometheus-stack",
		"monitoring.prometheusRule.alerts.IsrPagesStale.for=30m", "monitoring.prometheusRule.alerts.IsrPagesStale.severity=critical",
		"monitoring.dashboard.enabled=true", "monitoring.dashboard.additionalLabels.team=web",
	}
	for _, tt := range []struct {
		monitor string
		kinds   []string
	}{
		{"serviceMonitor", []string{"ServiceMonitor", "PrometheusRule", "ConfigMap"}},
		{"podMonitor", []string{"PodMonitor", "PrometheusRule", "ConfigMap"}},
	} {
		t.Run(tt.monitor, func(t *testing.T) {
			ms := render(t, append(scrape(tt.monitor), common...)...)
			for _, kind := range tt.kinds {
				name := fullname
				if kind == "ConfigMap" {
					name += "-dashboard"
				}
				if err := createStrictly(c, ms.get(t, kind, name)); err != nil {
					t.Errorf("%s %s: %v", kind, name, err)
				}
			}
		})
	}

	// The check can fail: an action the CRD does not know is refused.
	ms := render(t, "monitoring.serviceMonitor.enabled=true", "monitoring.serviceMonitor.relabelings[0].action=explode")
	if err := createStrictly(c, ms.get(t, "ServiceMonitor", fullname)); err == nil {
		t.Error("a ServiceMonitor with relabeling action explode was accepted")
	}
}

func TestDashboardConfigMap(t *testing.T) {
	cm := render(t, "monitoring.dashboard.enabled=true", "monitoring.dashboard.namespace=grafana").
		get(t, "ConfigMap", fullname+"-dashboard")
	if got := cm.str("metadata", "labels", "grafana_dashboard"); got != "1" {
		t.Errorf("label grafana_dashboard = %q, want \"1\" (the Grafana sidecar's)", got)
	}
	if got := cm.str("metadata", "namespace"); got != "grafana" {
		t.Errorf("namespace %q, want monitoring.dashboard.namespace", got)
	}
	var dash struct {
		UID    string
		Panels []struct{ Title string }
	}
	if err := json.Unmarshal([]byte(cm.str("data", "isr-operator.json")), &dash); err != nil {
		t.Fatalf("the dashboard is no JSON: %v", err)
	}
	if dash.UID == "" || len(dash.Panels) == 0 {
		t.Errorf("dashboard uid %q with %d panels", dash.UID, len(dash.Panels))
	}
}

func TestMonitorsNeedTheMetricsServices(t *testing.T) {
	for _, sets := range [][]string{
		{"monitoring.serviceMonitor.enabled=true", "monitoring.podMonitor.enabled=true"},
		{"monitoring.serviceMonitor.enabled=true", "metrics.enabled=false"},
		{"monitoring.podMonitor.enabled=true", "metrics.enabled=false"},
	} {
		if out, err := helmTemplate(t, namespace, sets...); err == nil {
			t.Errorf("%s rendered:\n%.200s", strings.Join(sets, " "), out)
		}
	}
}
