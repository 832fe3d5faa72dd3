package chart

import (
	"path/filepath"
	"slices"
	"testing"
)

// The host grants: by default both binaries get --host-grants=required, a
// read-only ClusterRole on Namespaces of their own (whatever namespaces are
// watched), and the policy that refuses a page for a host not granted; with
// tenancy.hostGrants=off none of it, and no right on Namespaces at all.
func TestHostGrantsAreRequiredByDefault(t *testing.T) {
	for _, c := range []struct {
		name string
		sets []string
		on   bool
	}{
		{"default", nil, true},
		{"watched namespaces", []string{"watchNamespaces={shop,blog}"}, true},
		{"sidecar", []string{"server.mode=sidecar"}, true},
		{"off", []string{"tenancy.hostGrants=off"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms := render(t, c.sets...)
			mode := "deployment"
			if slices.Contains(c.sets, "server.mode=sidecar") {
				mode = "sidecar"
			}
			manager, server, _, _ := workloads(t, ms, mode)
			want := "--host-grants=off"
			if c.on {
				want = "--host-grants=required"
			}
			for _, container := range []object{manager, server} {
				if !slices.Contains(args(container), want) {
					t.Errorf("%s args %v, want %s", container.str("name"), args(container), want)
				}
			}
			for _, component := range []string{"manager", "server"} {
				name := fullname + "-" + component + "-host-grants"
				role := ms.find("ClusterRole", name)
				if !c.on {
					if role != nil {
						t.Errorf("ClusterRole %s rendered with host grants off", name)
					}
					continue
				}
				if role == nil {
					t.Fatalf("no ClusterRole %s", name)
				}
				for _, verb := range []string{"get", "list", "watch"} {
					if !grants(role, "", "namespaces", verb) {
						t.Errorf("%s does not grant %s on namespaces", name, verb)
					}
				}
				if rules := role.list("rules"); len(rules) != 1 || len(at(rules[0], "verbs").([]any)) != 3 {
					t.Errorf("%s rules = %v, want get, list and watch on namespaces only", name, rules)
				}
				if ms.find("ClusterRoleBinding", name) == nil {
					t.Errorf("no ClusterRoleBinding %s", name)
				}
			}
			// No other role says anything of Namespaces.
			for _, kind := range []string{"ClusterRole", "Role"} {
				for _, r := range ms.all(kind) {
					if r.str("metadata", "name") == fullname+"-manager-host-grants" || r.str("metadata", "name") == fullname+"-server-host-grants" {
						continue
					}
					for _, verb := range []string{"get", "list", "watch", "create", "update", "patch", "delete"} {
						if grants(r, "", "namespaces", verb) {
							t.Errorf("%s %s grants %s on namespaces", kind, r.str("metadata", "name"), verb)
						}
					}
				}
			}
			policy := ms.find("ValidatingAdmissionPolicy", fullname+"-host-grants")
			if (policy != nil) != c.on {
				t.Errorf("host grants policy rendered: %v, want %v", policy != nil, c.on)
			}
		})
	}
	if ms := render(t, "admissionPolicies.enabled=false"); ms.find("ValidatingAdmissionPolicy", fullname+"-host-grants") != nil {
		t.Errorf("admissionPolicies.enabled=false renders the host grants policy")
	}
	if _, err := helmTemplate(t, namespace, "tenancy.hostGrants=maybe"); err == nil {
		t.Errorf("tenancy.hostGrants=maybe renders; want the schema to refuse it")
	}
}

// The chart's host grants policy is config/admission's.
func TestHostGrantsPolicyIsConfigAdmission(t *testing.T) {
	if n := sameAsConfig(t, render(t), filepath.Join("..", "..", "config", "admission", "host-grants.yaml")); n != 2 {
		t.Errorf("config/admission/host-grants.yaml has %d objects, want the policy and its binding", n)
	}
}
