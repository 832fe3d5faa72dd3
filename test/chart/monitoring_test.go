package chart

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// rulesFile is the alerts' one source, a plain Prometheus rules file.
var rulesFile = filepath.Join(chartDir, "files", "monitoring", "prometheus-rules.yaml")

// readRules parses the rules file.
func readRules(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules map[string]any
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	return rules
}

// alerts indexes the rules of a rules file's groups by alert name.
func alerts(groups []any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, g := range groups {
		for _, r := range at(g, "rules").([]any) {
			rule := r.(map[string]any)
			out[rule["alert"].(string)] = rule
		}
	}
	return out
}

func TestMonitoringIsOffByDefault(t *testing.T) {
	ms := render(t)
	for _, kind := range []string{"PrometheusRule", "ServiceMonitor", "PodMonitor"} {
		if got := ms.all(kind); len(got) != 0 {
			t.Errorf("%d %s rendered by default", len(got), kind)
		}
	}
}

func TestPrometheusRuleIsTheRulesFile(t *testing.T) {
	rule := render(t, "monitoring.prometheusRule.enabled=true", "monitoring.prometheusRule.additionalLabels.release=kube-prometheus-stack").
		get(t, "PrometheusRule", fullname)
	if got := rule.str("metadata", "labels", "release"); got != "kube-prometheus-stack" {
		t.Errorf("label release = %q, want the additional label", got)
	}
	if got, want := rule.at("spec", "groups"), readRules(t)["groups"]; !reflect.DeepEqual(got, want) {
		t.Errorf("the PrometheusRule's groups are not the rules file's:\n got %v\nwant %v", got, want)
	}
}

func TestPrometheusRuleOverrides(t *testing.T) {
	rule := render(t, "monitoring.prometheusRule.enabled=true",
		"monitoring.prometheusRule.alerts.IsrPagesStale.for=30m",
		"monitoring.prometheusRule.alerts.IsrPagesStale.severity=critical",
		"monitoring.prometheusRule.alerts.IsrServerDown.enabled=false",
	).get(t, "PrometheusRule", fullname)
	got := alerts(rule.list("spec", "groups"))
	want := alerts(readRules(t)["groups"].([]any))
	if _, ok := got["IsrServerDown"]; ok {
		t.Error("IsrServerDown rendered although disabled")
	}
	if len(got) != len(want)-1 {
		t.Errorf("%d alerts rendered, want %d", len(got), len(want)-1)
	}
	stale := got["IsrPagesStale"]
	if stale["for"] != "30m" || at(stale, "labels", "severity") != "critical" {
		t.Errorf("IsrPagesStale: for %v, severity %v; want the overrides 30m and critical", stale["for"], at(stale, "labels", "severity"))
	}
	if f := got["IsrRenderFailing"]; !reflect.DeepEqual(f, want["IsrRenderFailing"]) {
		t.Errorf("IsrRenderFailing changed by another alert's overrides: %v", f)
	}
	if _, err := helmTemplate(t, namespace, "monitoring.prometheusRule.enabled=true", "monitoring.prometheusRule.alerts.IsrPagesStale.for=soon"); err == nil {
		t.Error("a `for` that is no duration was accepted")
	}
}

func TestDocsDashboardIsTheChartsDashboard(t *testing.T) {
	chart, err := os.ReadFile(filepath.Join(chartDir, "files", "monitoring", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(chart) != string(docs) {
		t.Error("docs/grafana-dashboard.json differs from the chart's files/monitoring/dashboard.json: run 'make manifests'")
	}
}

// TestMonitorsLabelEachTargetsComponent checks that every scrape endpoint
// labels its targets isr_component by the binary behind the port, which
// IsrServerDown groups server targets by, before the user's relabelings.
func TestMonitorsLabelEachTargetsComponent(t *testing.T) {
	for _, c := range []struct{ kind, value, endpoints string }{
		{"ServiceMonitor", "serviceMonitor", "endpoints"},
		{"PodMonitor", "podMonitor", "podMetricsEndpoints"},
	} {
		p := "monitoring." + c.value + "."
		m := render(t, p+"enabled=true", p+"relabelings[0].targetLabel=team", p+"relabelings[0].replacement=shop").
			get(t, c.kind, fullname)
		want := map[string]string{"metrics": "manager", "server-metrics": "server"}
		got := map[string]string{}
		for _, ep := range m.list("spec", c.endpoints) {
			first, _ := at(ep, "relabelings", 0).(map[string]any)
			if first["targetLabel"] != "isr_component" || first["action"] != "replace" {
				t.Errorf("%s endpoint %v: first relabeling %v, want isr_component", c.kind, at(ep, "port"), first)
				continue
			}
			got[at(ep, "port").(string)], _ = first["replacement"].(string)
			if user, _ := at(ep, "relabelings", 1).(map[string]any); user["targetLabel"] != "team" {
				t.Errorf("%s endpoint %v: the user's relabeling is %v", c.kind, at(ep, "port"), user)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: isr_component by port = %v, want %v", c.kind, got, want)
		}
	}
}
