package chart

import (
	"reflect"
	"slices"
	"testing"
)

// serving is where pages are served in each server mode: the Deployment and
// the component label of its pods.
var serving = []struct {
	mode, deployment, component string
}{
	{"deployment", fullname + "-server", "server"},
	{"sidecar", fullname + "-manager", "manager"},
}

func TestServingPodsRollWithoutDowntime(t *testing.T) {
	for _, s := range serving {
		t.Run(s.mode, func(t *testing.T) {
			d := render(t, "server.mode="+s.mode).get(t, "Deployment", s.deployment)
			if typ := d.str("spec", "strategy", "type"); typ != "RollingUpdate" {
				t.Errorf("strategy %q, want RollingUpdate", typ)
			}
			if u := d.at("spec", "strategy", "rollingUpdate", "maxUnavailable"); u != 0 {
				t.Errorf("maxUnavailable = %v, want 0: a new pod serves before an old one stops", u)
			}
			if u := d.at("spec", "strategy", "rollingUpdate", "maxSurge"); u == nil || u == 0 {
				t.Errorf("maxSurge = %v: with maxUnavailable 0 the rollout could not progress", u)
			}
		})
	}
}

func TestServerStopsGracefully(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sets  []string
		delay string
		grace string
		// want is terminationGracePeriodSeconds in deployment and sidecar mode.
		want [2]int
	}{
		{"defaults", nil, "5s", "15s", [2]int{25, 30}},
		{"long", []string{"server.shutdownDelay=20s", "server.shutdownGracePeriod=1m"}, "20s", "1m", [2]int{85, 85}},
		{"fractions", []string{"server.shutdownDelay=1.5s", "server.shutdownGracePeriod=500ms"}, "1.5s", "500ms", [2]int{7, 30}},
		{"compound", []string{"server.shutdownDelay=1m30s", "server.shutdownGracePeriod=1h"}, "1m30s", "1h", [2]int{3695, 3695}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, s := range serving {
				pod := render(t, append([]string{"server.mode=" + s.mode}, tc.sets...)...).get(t, "Deployment", s.deployment).podSpec()
				if g := pod.at("terminationGracePeriodSeconds"); g != tc.want[i] {
					t.Errorf("%s mode: terminationGracePeriodSeconds = %v, want %d (more than delay %s + grace %s)", s.mode, g, tc.want[i], tc.delay, tc.grace)
				}
				c := pod.container("server")
				var args []string
				for _, a := range c.list("args") {
					args = append(args, a.(string))
				}
				for _, want := range []string{"--shutdown-delay=" + tc.delay, "--shutdown-grace-period=" + tc.grace} {
					if !slices.Contains(args, want) {
						t.Errorf("%s mode: server args %v lack %s", s.mode, args, want)
					}
				}
				if p := c.str("readinessProbe", "httpGet", "path"); p != "/readyz" {
					t.Errorf("%s mode: readinessProbe path %q, want /readyz", s.mode, p)
				}
				port := c.str("readinessProbe", "httpGet", "port")
				var probePort any
				for _, p := range c.list("ports") {
					if at(p, "name") == port {
						probePort = at(p, "containerPort")
					}
				}
				if probePort != 8091 {
					t.Errorf("%s mode: readinessProbe on port %q (%v), want the server's probe port 8091", s.mode, port, probePort)
				}
			}
		})
	}
}

func TestServingPodsHaveADisruptionBudget(t *testing.T) {
	for _, s := range serving {
		t.Run(s.mode, func(t *testing.T) {
			ms := render(t, "server.mode="+s.mode)
			pdbs := ms.all("PodDisruptionBudget")
			if len(pdbs) != 1 {
				t.Fatalf("%d PodDisruptionBudgets rendered, want 1", len(pdbs))
			}
			pdb := pdbs[0]
			if n := pdb.str("metadata", "name"); n != s.deployment {
				t.Errorf("PodDisruptionBudget %s, want %s", n, s.deployment)
			}
			if u := pdb.at("spec", "maxUnavailable"); u != 1 {
				t.Errorf("maxUnavailable = %v, want 1 so a single replica never blocks a drain", u)
			}
			if m := pdb.at("spec", "minAvailable"); m != nil {
				t.Errorf("minAvailable = %v beside maxUnavailable", m)
			}
			selector := pdb.at("spec", "selector", "matchLabels").(map[string]any)
			labels := ms.get(t, "Deployment", s.deployment).at("spec", "template", "metadata", "labels").(map[string]any)
			for k, v := range selector {
				if labels[k] != v {
					t.Errorf("the PodDisruptionBudget selects %s=%v; the serving pods have %v", k, v, labels[k])
				}
			}
			if selector["app.kubernetes.io/component"] != s.component {
				t.Errorf("the PodDisruptionBudget selects component %v, want %s", selector["app.kubernetes.io/component"], s.component)
			}

			pdb = render(t, "server.mode="+s.mode, "server.podDisruptionBudget.minAvailable=50%").get(t, "PodDisruptionBudget", s.deployment)
			if m, u := pdb.at("spec", "minAvailable"), pdb.at("spec", "maxUnavailable"); m != "50%" || u != nil {
				t.Errorf("with minAvailable=50%%: minAvailable %v, maxUnavailable %v", m, u)
			}
			if n := len(render(t, "server.mode="+s.mode, "server.podDisruptionBudget.enabled=false").all("PodDisruptionBudget")); n != 0 {
				t.Errorf("podDisruptionBudget.enabled=false renders %d", n)
			}
		})
	}
}

func TestServingPodsSpreadSoftly(t *testing.T) {
	for _, s := range serving {
		t.Run(s.mode, func(t *testing.T) {
			d := render(t, "server.mode="+s.mode).get(t, "Deployment", s.deployment)
			labels := d.at("spec", "template", "metadata", "labels").(map[string]any)
			var keys []string
			for _, c := range d.podSpec().list("topologySpreadConstraints") {
				keys = append(keys, at(c, "topologyKey").(string))
				if w := at(c, "whenUnsatisfiable"); w != "ScheduleAnyway" {
					t.Errorf("%v: whenUnsatisfiable %v, want ScheduleAnyway: spreading must never leave a pod pending", at(c, "topologyKey"), w)
				}
				selector, _ := at(c, "labelSelector", "matchLabels").(map[string]any)
				if selector["app.kubernetes.io/component"] != s.component || selector["app.kubernetes.io/instance"] != release {
					t.Errorf("%v: labelSelector %v does not select this release's %s pods", at(c, "topologyKey"), selector, s.component)
				}
				for k, v := range selector {
					if labels[k] != v {
						t.Errorf("%v: labelSelector %s=%v misses the pods (%v)", at(c, "topologyKey"), k, v, labels[k])
					}
				}
				if mk := at(c, "matchLabelKeys"); !reflect.DeepEqual(mk, []any{"pod-template-hash"}) {
					t.Errorf("%v: matchLabelKeys %v, want [pod-template-hash]", at(c, "topologyKey"), mk)
				}
			}
			if !slices.Equal(keys, []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone"}) {
				t.Errorf("spread over %v, want nodes and zones", keys)
			}

			d = render(t, "server.mode="+s.mode, "server.topologySpreadConstraints=null").get(t, "Deployment", s.deployment)
			if c := d.podSpec().at("topologySpreadConstraints"); c != nil {
				t.Errorf("topologySpreadConstraints=null still renders %v", c)
			}
		})
	}
	// The manager is not spread in deployment mode: it does not serve.
	if c := render(t).get(t, "Deployment", fullname+"-manager").podSpec().at("topologySpreadConstraints"); c != nil {
		t.Errorf("the manager is spread in deployment mode: %v", c)
	}
}
