package chart

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/isr-operator/isr-operator/internal/testenv"
)

// tokenPath is where Kubernetes clients read a pod's ServiceAccount token.
const tokenPath = "/var/run/secrets/kubernetes.io/serviceaccount"

func TestDeploymentModeIsTheDefault(t *testing.T) {
	ms := render(t)
	server := ms.get(t, "Deployment", fullname+"-server")
	if sa := server.podSpec().str("serviceAccountName"); sa != fullname+"-server" {
		t.Errorf("server pods run as %q, want their own ServiceAccount %s-server", sa, fullname)
	}
	if r := server.at("spec", "replicas"); r != 2 {
		t.Errorf("server replicas = %v, want 2", r)
	}
	manager := ms.get(t, "Deployment", fullname+"-manager")
	if got := manager.podSpec().containerNames(); !slices.Equal(got, []string{"manager"}) {
		t.Errorf("manager pod containers = %v, want the manager alone", got)
	}
	if s := ms.all("Secret"); len(s) != 0 {
		t.Errorf("deployment mode needs no token Secret, got %v", s)
	}
	ms.get(t, "ServiceAccount", fullname+"-server")
	ms.get(t, "ServiceAccount", fullname+"-manager")
}

func TestSidecarAuthenticatesAsTheServerServiceAccount(t *testing.T) {
	ms := render(t, "server.mode=sidecar")
	if d := ms.find("Deployment", fullname+"-server"); d != nil {
		t.Fatal("sidecar mode renders a server Deployment")
	}
	pod := ms.get(t, "Deployment", fullname+"-manager").podSpec()
	if got := pod.containerNames(); !slices.Equal(got, []string{"manager", "server"}) {
		t.Fatalf("manager pod containers = %v, want manager and server", got)
	}
	if sa := pod.str("serviceAccountName"); sa != fullname+"-manager" {
		t.Errorf("the pod runs as %q, want the manager's ServiceAccount (the manager container's token)", sa)
	}
	if v, ok := pod["automountServiceAccountToken"]; ok && v != true {
		t.Errorf("automountServiceAccountToken = %v: the manager container needs its token", v)
	}

	tokenVolume := func(c object) (volume string) {
		for _, m := range c.list("volumeMounts") {
			if at(m, "mountPath") == tokenPath {
				if at(m, "readOnly") != true {
					t.Errorf("container %s mounts %s writable", c.str("name"), tokenPath)
				}
				return at(m, "name").(string)
			}
		}
		return ""
	}
	if v := tokenVolume(pod.container("manager")); v != "" {
		t.Errorf("the manager container mounts volume %q over its token; the API server's projected token must stay", v)
	}
	volume := tokenVolume(pod.container("server"))
	if volume == "" {
		t.Fatalf("the server container mounts nothing at %s, so the API server mounts the manager's token there", tokenPath)
	}
	var secretName string
	for _, v := range pod.list("volumes") {
		if at(v, "name") == volume {
			secretName, _ = at(v, "secret", "secretName").(string)
			var keys []string
			for _, it := range at(v, "secret", "items").([]any) {
				keys = append(keys, at(it, "key").(string))
			}
			if !slices.Equal(keys, []string{"token", "ca.crt", "namespace"}) {
				t.Errorf("token volume keys = %v, want token, ca.crt, namespace (listed, so the pod waits for the token controller)", keys)
			}
		}
		if _, projected := at(v, "projected").(map[string]any); projected {
			t.Errorf("volume %v is projected: a pod can only project its own ServiceAccount's token", at(v, "name"))
		}
	}
	if secretName != fullname+"-server-token" {
		t.Fatalf("the server's token volume is Secret %q, want %s-server-token", secretName, fullname)
	}
	secret := ms.get(t, "Secret", secretName)
	if typ := secret.str("type"); typ != "kubernetes.io/service-account-token" {
		t.Errorf("Secret %s has type %q", secretName, typ)
	}
	if sa := secret.str("metadata", "annotations", "kubernetes.io/service-account.name"); sa != fullname+"-server" {
		t.Errorf("the token Secret is for ServiceAccount %q, want %s-server", sa, fullname)
	}
	if _, hasData := secret["data"]; hasData {
		t.Error("the token Secret carries data; the token controller fills it")
	}
	ms.get(t, "ServiceAccount", fullname+"-server")
	checkBindings(t, ms, fullname+"-manager", fullname+"-server")
}

// checkBindings proves that every role the chart binds for the server goes
// to the server's ServiceAccount, and the manager's to the manager's.
func checkBindings(t *testing.T, ms manifests, managerSA, serverSA string) {
	t.Helper()
	seen := map[string]bool{}
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		for _, b := range ms.all(kind) {
			role := b.str("roleRef", "name")
			var want string
			switch {
			case strings.HasSuffix(role, "-server"), strings.HasSuffix(role, "-revalidate-api"), strings.HasSuffix(role, "-server-own-namespace"),
				strings.HasSuffix(role, "-server-host-grants"):
				want = serverSA
			case strings.HasSuffix(role, "-manager"), strings.HasSuffix(role, "-leader-election"), strings.HasSuffix(role, "-manager-host-grants"):
				want = managerSA
			default:
				t.Errorf("%s %s binds an unknown role %s", kind, b.str("metadata", "name"), role)
				continue
			}
			seen[want] = true
			for _, s := range b.list("subjects") {
				if got := at(s, "name"); got != want {
					t.Errorf("%s %s grants %s to %v, want only %s", kind, b.str("metadata", "name"), role, got, want)
				}
			}
		}
	}
	if !seen[managerSA] || !seen[serverSA] {
		t.Errorf("bindings found for %v, want both %s and %s", seen, managerSA, serverSA)
	}
}

func TestEachServiceAccountGetsOnlyItsRoles(t *testing.T) {
	for _, mode := range []string{"deployment", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			ms := render(t, "server.mode="+mode, "revalidateAPI.enabled=true", "revalidateAPI.existingSecret=cms")
			checkBindings(t, ms, fullname+"-manager", fullname+"-server")
			role := ms.get(t, "Role", fullname+"-server-own-namespace")
			if ns := role.str("metadata", "namespace"); ns != namespace {
				t.Errorf("signature Role in namespace %q, want the release namespace", ns)
			}
			rules := role.list("rules")
			if len(rules) != 1 || !reflect.DeepEqual(at(rules[0], "resources"), []any{"leases"}) ||
				!reflect.DeepEqual(at(rules[0], "apiGroups"), []any{"coordination.k8s.io"}) ||
				!reflect.DeepEqual(at(rules[0], "verbs"), []any{"create", "delete", "list"}) {
				t.Errorf("signature Role rules = %v, want create, list, delete on coordination.k8s.io leases", rules)
			}
		})
	}
	for _, r := range render(t, "watchNamespaces={shop,blog}").all("Role") {
		if ns := r.str("metadata", "namespace"); r.str("metadata", "name") == fullname+"-server-own-namespace" && ns != namespace {
			t.Errorf("the signature Role is in namespace %s, want only the release namespace", ns)
		}
	}
}

func TestServerAndManagerMustNotShareAServiceAccount(t *testing.T) {
	for _, sets := range [][]string{
		{"server.serviceAccount.name=shared", "manager.serviceAccount.name=shared"},
		{"server.mode=sidecar", "server.serviceAccount.create=false", "manager.serviceAccount.create=false"},
	} {
		out, err := helmTemplate(t, namespace, sets...)
		if err == nil {
			t.Errorf("%v renders; want a refusal", sets)
			continue
		}
		if !strings.Contains(out, "must not share the ServiceAccount") {
			t.Errorf("%v: the error does not say why:\n%s", sets, out)
		}
	}
}

// policyNames are the admission policies config/admission declares, named
// after the release in the chart.
var policyNames = []string{"server-staticpages", "server-staticpage-creates", "server-leases", "server-webhookreceivers", "manager-configmaps", "manager-staticpages"}

func TestAdmissionPoliciesNameTheServiceAccounts(t *testing.T) {
	for _, tc := range []struct {
		name            string
		ns              string
		sets            []string
		manager, server string
	}{
		{"deployment mode", namespace, nil, fullname + "-manager", fullname + "-server"},
		{"sidecar mode", namespace, []string{"server.mode=sidecar"}, fullname + "-manager", fullname + "-server"},
		{"another namespace and names", "web", []string{"server.mode=sidecar", "manager.serviceAccount.name=renderer", "server.serviceAccount.name=frontend"}, "renderer", "frontend"},
		{"existing ServiceAccounts", "web", []string{"manager.serviceAccount.create=false", "manager.serviceAccount.name=renderer", "server.serviceAccount.create=false", "server.serviceAccount.name=frontend"}, "renderer", "frontend"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := renderIn(t, tc.ns, tc.sets...)
			want := map[string]string{
				"server-staticpages":        "system:serviceaccount:" + tc.ns + ":" + tc.server,
				"server-staticpage-creates": "system:serviceaccount:" + tc.ns + ":" + tc.server,
				"server-leases":             "system:serviceaccount:" + tc.ns + ":" + tc.server,
				"server-webhookreceivers":   "system:serviceaccount:" + tc.ns + ":" + tc.server,
				"manager-configmaps":        "system:serviceaccount:" + tc.ns + ":" + tc.manager,
				"manager-staticpages":       "system:serviceaccount:" + tc.ns + ":" + tc.manager,
			}
			// And the host grants policy, which binds every user.
			if n := len(ms.all("ValidatingAdmissionPolicy")); n != len(policyNames)+1 {
				t.Errorf("%d policies rendered, want %d and the host grants policy", n, len(policyNames))
			}
			for _, name := range policyNames {
				policy := ms.get(t, "ValidatingAdmissionPolicy", fullname+"-"+name)
				if v := policy.str("apiVersion"); v != "admissionregistration.k8s.io/v1" {
					t.Errorf("%s: apiVersion %s", name, v)
				}
				conds := policy.list("spec", "matchConditions")
				if len(conds) != 1 {
					t.Fatalf("%s: matchConditions %v, want one, on the username", name, conds)
				}
				expr := at(conds[0], "expression").(string)
				if wantExpr := "request.userInfo.username == '" + want[name] + "'"; expr != wantExpr {
					t.Errorf("%s matches %q, want %q", name, expr, wantExpr)
				}
				binding := ms.get(t, "ValidatingAdmissionPolicyBinding", fullname+"-"+name)
				if p := binding.str("spec", "policyName"); p != fullname+"-"+name {
					t.Errorf("binding %s binds policy %q", name, p)
				}
				if a := binding.list("spec", "validationActions"); !reflect.DeepEqual(a, []any{"Deny"}) {
					t.Errorf("binding %s validationActions = %v, want [Deny]", name, a)
				}
				if l := policy.str("metadata", "labels", "app.kubernetes.io/instance"); l != release {
					t.Errorf("%s has no release label, so helm uninstall and selectors miss it", name)
				}
			}
		})
	}
}

func TestAdmissionPoliciesCanBeLeftOut(t *testing.T) {
	for _, mode := range []string{"deployment", "sidecar"} {
		ms := render(t, "server.mode="+mode, "admissionPolicies.enabled=false")
		if n := len(ms.all("ValidatingAdmissionPolicy")) + len(ms.all("ValidatingAdmissionPolicyBinding")); n != 0 {
			t.Errorf("%s mode with admissionPolicies.enabled=false renders %d policies and bindings", mode, n)
		}
	}
}

// The chart's policies are config/admission's, with the release's names: the
// CEL has one source.
func TestAdmissionPoliciesAreConfigAdmission(t *testing.T) {
	n := sameAsConfig(t, render(t), filepath.Join("..", "..", "config", "admission", "policies.yaml"))
	if n != 2*len(policyNames) {
		t.Errorf("config/admission has %d objects, want %d policies and their bindings", n, 2*len(policyNames))
	}
}

// The storage finalizer policy comes with S3 storage, on clusters that serve
// MutatingAdmissionPolicy, and is config/admission/s3's.
func TestStorageFinalizerPolicy(t *testing.T) {
	const served = "--api-versions=admissionregistration.k8s.io/v1/MutatingAdmissionPolicy"
	name := fullname + "-storage-finalizer"
	for _, c := range []struct {
		name string
		sets []string
		want bool
	}{
		{"s3 on a cluster that serves the API", append(slices.Clone(s3Values), served), true},
		{"s3 on an older cluster", s3Values, false},
		{"configmap", []string{served}, false},
		{"policies off", append(slices.Clone(s3Values), served, "admissionPolicies.enabled=false"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms := render(t, c.sets...)
			n := len(ms.all("MutatingAdmissionPolicy")) + len(ms.all("MutatingAdmissionPolicyBinding"))
			if !c.want {
				if n != 0 {
					t.Errorf("renders %d mutating policies and bindings, want none", n)
				}
				return
			}
			if n != 2 || ms.find("MutatingAdmissionPolicyBinding", name) == nil {
				t.Fatalf("renders %d mutating policies and bindings, want %s and its binding", n, name)
			}
			sameAsConfig(t, ms, filepath.Join("..", "..", "config", "admission", "s3", "storage-finalizer.yaml"))
		})
	}
}

// With watchNamespaces, the storage finalizer policy touches pages of those
// namespaces only: a page elsewhere, which no manager of the release
// reconciles, would keep a finalizer nothing removes.
func TestStorageFinalizerPolicyOnlyInWatchedNamespaces(t *testing.T) {
	const served = "--api-versions=admissionregistration.k8s.io/v1/MutatingAdmissionPolicy"
	ms := render(t, append(slices.Clone(s3Values), served, "watchNamespaces={shop,web}")...)
	policy := ms.get(t, "MutatingAdmissionPolicy", fullname+"-storage-finalizer")
	want := map[string]any{"matchExpressions": []any{map[string]any{
		"key": "kubernetes.io/metadata.name", "operator": "In", "values": []any{"shop", "web"},
	}}}
	if got := policy.at("spec", "matchConstraints", "namespaceSelector"); !reflect.DeepEqual(got, any(want)) {
		t.Errorf("namespaceSelector = %v, want %v", got, want)
	}
	// Watching every namespace, it matches every namespace (as config/'s).
	all := render(t, append(slices.Clone(s3Values), served)...).get(t, "MutatingAdmissionPolicy", fullname+"-storage-finalizer")
	if got := all.at("spec", "matchConstraints", "namespaceSelector"); got != nil {
		t.Errorf("with every namespace watched, namespaceSelector = %v, want none", got)
	}
}

// sameAsConfig checks that every object of the config/admission file is in
// rendered, named after the release and otherwise alike, and returns how
// many there are.
func sameAsConfig(t *testing.T, rendered manifests, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.NewReplacer(
		"system:serviceaccount:isr-system:isr-operator-server", "system:serviceaccount:"+namespace+":"+fullname+"-server",
		"system:serviceaccount:isr-system:isr-operator-manager", "system:serviceaccount:"+namespace+":"+fullname+"-manager",
	).Replace(string(b))
	objs, err := testenv.ParseManifests(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range objs {
		want := object(u.Object)
		name := fullname + strings.TrimPrefix(want.str("metadata", "name"), "isr-operator")
		got := rendered.get(t, want.str("kind"), name)
		wantSpec := want.at("spec").(map[string]any)
		if p, ok := wantSpec["policyName"].(string); ok {
			wantSpec["policyName"] = fullname + strings.TrimPrefix(p, "isr-operator")
		}
		if !reflect.DeepEqual(got.at("spec"), any(wantSpec)) {
			g, _ := yaml.Marshal(got.at("spec"))
			w, _ := yaml.Marshal(wantSpec)
			t.Errorf("%s %s differs from %s (run make manifests):\n--- chart\n%s\n--- config\n%s", want.str("kind"), name, file, g, w)
		}
	}
	return len(objs)
}

func TestRevalidateAPITrustsOnlyTheListedProxies(t *testing.T) {
	args := func(sets ...string) []string {
		c := render(t, append([]string{"revalidateAPI.enabled=true", "revalidateAPI.existingSecret=cms"}, sets...)...).
			get(t, "Deployment", fullname+"-server").podSpec().container("server")
		var out []string
		for _, a := range c.list("args") {
			if s := a.(string); strings.HasPrefix(s, "--trusted-proxies") {
				out = append(out, s)
			}
		}
		return out
	}
	if got := args(); got != nil {
		t.Errorf("without revalidateAPI.trustedProxies the server gets %v", got)
	}
	if got := args("revalidateAPI.trustedProxies={10.0.0.0/8,192.168.1.7}"); !slices.Equal(got, []string{"--trusted-proxies=10.0.0.0/8,192.168.1.7"}) {
		t.Errorf("server args %v, want --trusted-proxies=10.0.0.0/8,192.168.1.7", got)
	}
}

func TestManagerGetsTheOriginGuardValues(t *testing.T) {
	args := func(sets ...string) []string {
		c := render(t, sets...).get(t, "Deployment", fullname+"-manager").podSpec().container("manager")
		var out []string
		for _, a := range c.list("args") {
			if s := a.(string); strings.HasPrefix(s, "--allow-origin") || strings.HasPrefix(s, "--deny-origin-cidrs") {
				out = append(out, s)
			}
		}
		return out
	}
	if got := args(); got != nil {
		t.Errorf("without manager.allowOrigins and manager.denyOriginCIDRs the manager gets %v", got)
	}
	got := args("manager.allowOrigins={127.0.0.1:8088,shop.svc}", "manager.denyOriginCIDRs={10.0.0.0/8,192.168.1.7}")
	want := []string{"--allow-origin=127.0.0.1:8088", "--allow-origin=shop.svc", "--deny-origin-cidrs=10.0.0.0/8,192.168.1.7"}
	if !slices.Equal(got, want) {
		t.Errorf("manager args %v, want %v", got, want)
	}
}

func TestRevalidateAPICapsUnauthenticatedCalls(t *testing.T) {
	arg := func(sets ...string) []string {
		c := render(t, append([]string{"revalidateAPI.enabled=true", "revalidateAPI.existingSecret=cms"}, sets...)...).
			get(t, "Deployment", fullname+"-server").podSpec().container("server")
		var out []string
		for _, a := range c.list("args") {
			if s := a.(string); strings.HasPrefix(s, "--revalidate-max-unauthenticated") {
				out = append(out, s)
			}
		}
		return out
	}
	if got := arg(); !slices.Equal(got, []string{"--revalidate-max-unauthenticated=64"}) {
		t.Errorf("server args %v, want the default --revalidate-max-unauthenticated=64", got)
	}
	if got := arg("revalidateAPI.maxUnauthenticated=8"); !slices.Equal(got, []string{"--revalidate-max-unauthenticated=8"}) {
		t.Errorf("server args %v, want --revalidate-max-unauthenticated=8", got)
	}
}
