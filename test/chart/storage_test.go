package chart

import (
	"slices"
	"strings"
	"testing"
)

// s3Values are an object store install with a Secret per component.
var s3Values = []string{
	"storage.type=s3",
	"storage.s3.endpoint=https://s3.example.com",
	"storage.s3.bucket=pages",
	"storage.s3.prefix=shop",
	"storage.s3.region=eu-west-1",
	"storage.s3.pathStyle=true",
	"storage.s3.timeout=3s",
	"storage.s3.sweepInterval=2m",
	"storage.s3.sweepGrace=3m",
	"storage.s3.finalizeTimeout=30s",
	"storage.cacheSize=64Mi",
	"storage.s3.manager.existingSecret=s3-manager",
	"storage.s3.server.existingSecret=s3-server",
}

// workloads returns the manager and server containers and the pod spec of
// each, in either server mode.
func workloads(t *testing.T, ms manifests, mode string) (manager, server, managerPod, serverPod object) {
	t.Helper()
	managerPod = ms.get(t, "Deployment", fullname+"-manager").podSpec()
	serverPod = managerPod
	if mode == "deployment" {
		serverPod = ms.get(t, "Deployment", fullname+"-server").podSpec()
	}
	manager, server = managerPod.container("manager"), serverPod.container("server")
	if manager == nil || server == nil {
		t.Fatalf("%s mode: no manager or server container", mode)
	}
	return manager, server, managerPod, serverPod
}

func args(c object) []string {
	var out []string
	for _, a := range c.list("args") {
		out = append(out, a.(string))
	}
	return out
}

// secretEnv maps each environment variable taken from a Secret to
// "secret/key".
func secretEnv(c object) map[string]string {
	out := map[string]string{}
	for _, e := range c.list("env") {
		if ref, ok := at(e, "valueFrom", "secretKeyRef").(map[string]any); ok {
			out[at(e, "name").(string)] = ref["name"].(string) + "/" + ref["key"].(string)
		}
	}
	return out
}

func TestS3StorageFlagsReachBothContainers(t *testing.T) {
	common := []string{
		"--storage=s3",
		"--s3-endpoint=https://s3.example.com",
		"--s3-bucket=pages",
		"--s3-prefix=shop",
		"--s3-region=eu-west-1",
		"--s3-path-style=true",
		"--s3-allow-http=false",
		"--s3-timeout=3s",
	}
	managerOnly := []string{"--s3-sweep-interval=2m", "--s3-sweep-grace=3m", "--s3-finalize-timeout=30s"}
	for _, mode := range []string{"deployment", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			manager, server, _, _ := workloads(t, render(t, append(s3Values, "server.mode="+mode)...), mode)
			for _, want := range append(common, managerOnly...) {
				if !slices.Contains(args(manager), want) {
					t.Errorf("manager args lack %s: %v", want, args(manager))
				}
			}
			for _, want := range common {
				if !slices.Contains(args(server), want) {
					t.Errorf("server args lack %s: %v", want, args(server))
				}
			}
			for _, a := range args(server) {
				if strings.HasPrefix(a, "--s3-sweep") || strings.HasPrefix(a, "--s3-finalize") {
					t.Errorf("server got the manager's flag %s", a)
				}
			}
			if !slices.Contains(args(server), "--cache-size=64Mi") {
				t.Errorf("server args lack --cache-size=64Mi: %v", args(server))
			}
			for _, a := range args(manager) {
				if strings.HasPrefix(a, "--cache-size") {
					t.Errorf("manager got the server's flag %s", a)
				}
			}
		})
	}
}

func TestEachContainerGetsItsOwnS3Credentials(t *testing.T) {
	for _, mode := range []string{"deployment", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			manager, server, _, _ := workloads(t, render(t, append(s3Values, "server.mode="+mode)...), mode)
			want := func(secret string) map[string]string {
				return map[string]string{
					"AWS_ACCESS_KEY_ID":     secret + "/AWS_ACCESS_KEY_ID",
					"AWS_SECRET_ACCESS_KEY": secret + "/AWS_SECRET_ACCESS_KEY",
				}
			}
			if got := secretEnv(manager); !mapsEqual(got, want("s3-manager")) {
				t.Errorf("manager env from Secrets = %v, want %v", got, want("s3-manager"))
			}
			if got := secretEnv(server); !mapsEqual(got, want("s3-server")) {
				t.Errorf("server env from Secrets = %v, want only its own Secret %v", got, want("s3-server"))
			}
			for _, c := range []object{manager, server} {
				if c.at("envFrom") != nil {
					t.Errorf("%s imports a whole Secret with envFrom", c.str("name"))
				}
			}
		})
	}

	// Without Secrets (IRSA), no credentials in the environment; the
	// ServiceAccounts carry the role annotations.
	ms := render(t, "storage.type=s3", "storage.s3.endpoint=https://s3.example.com", "storage.s3.bucket=pages",
		"manager.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/m",
		"server.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/s")
	manager, server, _, _ := workloads(t, ms, "deployment")
	if len(secretEnv(manager)) != 0 || len(secretEnv(server)) != 0 {
		t.Errorf("credentials in the environment without existingSecret: manager %v, server %v", secretEnv(manager), secretEnv(server))
	}
	for sa, role := range map[string]string{fullname + "-manager": "arn:aws:iam::1:role/m", fullname + "-server": "arn:aws:iam::1:role/s"} {
		if got := ms.get(t, "ServiceAccount", sa).str("metadata", "annotations", "eks.amazonaws.com/role-arn"); got != role {
			t.Errorf("ServiceAccount %s role-arn = %q, want %q", sa, got, role)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestConfigMapStorageIsTheDefault(t *testing.T) {
	manager, server, _, _ := workloads(t, render(t), "deployment")
	for _, c := range []object{manager, server} {
		if !slices.Contains(args(c), "--storage=configmap") {
			t.Errorf("%s args lack --storage=configmap: %v", c.str("name"), args(c))
		}
		for _, a := range args(c) {
			if strings.HasPrefix(a, "--s3-") {
				t.Errorf("%s got %s with ConfigMap storage", c.str("name"), a)
			}
		}
		if len(secretEnv(c)) != 0 {
			t.Errorf("%s gets Secrets in its environment: %v", c.str("name"), secretEnv(c))
		}
	}
	// The bounded body cache applies to ConfigMap pages too.
	if !slices.Contains(args(server), "--cache-size=256Mi") {
		t.Errorf("server args lack --cache-size=256Mi: %v", args(server))
	}
	if slices.ContainsFunc(args(manager), func(a string) bool { return strings.HasPrefix(a, "--cache-size") }) {
		t.Errorf("manager got the server's --cache-size: %v", args(manager))
	}
}

// configMapVerbs returns the verbs a rendered role grants on core
// ConfigMaps, and whether any rule names them.
func configMapVerbs(role object) ([]string, bool) {
	var verbs []string
	found := false
	for _, r := range role.list("rules") {
		groups, _ := at(r, "apiGroups").([]any)
		resources, _ := at(r, "resources").([]any)
		if slices.Contains(groups, any("")) && slices.Contains(resources, any("configmaps")) {
			found = true
			for _, v := range at(r, "verbs").([]any) {
				verbs = append(verbs, v.(string))
			}
		}
	}
	slices.Sort(verbs)
	return verbs, found
}

// grants reports whether role has verb on resource in group.
func grants(role object, group, resource, verb string) bool {
	for _, r := range role.list("rules") {
		groups, _ := at(r, "apiGroups").([]any)
		resources, _ := at(r, "resources").([]any)
		verbs, _ := at(r, "verbs").([]any)
		if slices.Contains(groups, any(group)) && slices.Contains(resources, any(resource)) && slices.Contains(verbs, any(verb)) {
			return true
		}
	}
	return false
}

func TestS3StorageGrantsNoConfigMapWrites(t *testing.T) {
	cases := []struct {
		name string
		kind string
		ns   string
		sets []string
	}{
		{"all namespaces, deployment", "ClusterRole", "", nil},
		{"all namespaces, sidecar", "ClusterRole", "", []string{"server.mode=sidecar"}},
		{"watched namespaces", "Role", "shop", []string{"watchNamespaces={shop,blog}"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			find := func(ms manifests, name string) object {
				for _, o := range ms.all(c.kind) {
					if o.str("metadata", "name") == name && (c.ns == "" || o.str("metadata", "namespace") == c.ns) {
						return o
					}
				}
				t.Fatalf("no %s %s in %q", c.kind, name, c.ns)
				return nil
			}

			ms := render(t, append(append([]string{}, s3Values...), c.sets...)...)
			manager, server := find(ms, fullname+"-manager"), find(ms, fullname+"-server")
			if verbs, _ := configMapVerbs(manager); !slices.Equal(verbs, []string{"get", "list", "watch"}) {
				t.Errorf("S3 mode: manager ConfigMap verbs = %v, want only get, list, watch", verbs)
			}
			if verbs, found := configMapVerbs(server); found {
				t.Errorf("S3 mode: server ConfigMap verbs = %v, want none", verbs)
			}
			for _, want := range [][3]string{
				{"pages.isr-operator.io", "staticpages", "patch"},
				{"pages.isr-operator.io", "staticpages/finalizers", "update"},
				{"pages.isr-operator.io", "staticpages/status", "patch"},
				{"events.k8s.io", "events", "create"},
			} {
				if !grants(manager, want[0], want[1], want[2]) {
					t.Errorf("S3 mode: manager may not %s %s", want[2], want[1])
				}
			}
			if !grants(server, "pages.isr-operator.io", "staticpages", "watch") || !grants(server, "pages.isr-operator.io", "staticpages", "patch") ||
				!grants(server, "pages.isr-operator.io", "staticpages", "create") || !grants(server, "pages.isr-operator.io", "staticpagesets", "watch") {
				t.Errorf("S3 mode: server lost its StaticPage or StaticPageSet rules: %v", server.list("rules"))
			}

			ms = render(t, c.sets...)
			manager, server = find(ms, fullname+"-manager"), find(ms, fullname+"-server")
			if verbs, _ := configMapVerbs(manager); !slices.Equal(verbs, []string{"create", "delete", "get", "list", "patch", "update", "watch"}) {
				t.Errorf("ConfigMap mode: manager ConfigMap verbs = %v", verbs)
			}
			if verbs, _ := configMapVerbs(server); !slices.Equal(verbs, []string{"get", "list", "watch"}) {
				t.Errorf("ConfigMap mode: server ConfigMap verbs = %v", verbs)
			}
		})
	}
}

func TestS3CABundleIsMountedIntoBothContainers(t *testing.T) {
	for _, source := range []string{"configMap", "secret"} {
		for _, mode := range []string{"deployment", "sidecar"} {
			t.Run(source+"/"+mode, func(t *testing.T) {
				ms := render(t, append(s3Values, "server.mode="+mode, "storage.s3.ca."+source+"=store-ca", "storage.s3.ca.key=bundle.pem")...)
				manager, server, managerPod, serverPod := workloads(t, ms, mode)
				for _, c := range []object{manager, server} {
					if !slices.Contains(args(c), "--s3-ca-file=/etc/isr-operator/s3-ca/bundle.pem") {
						t.Errorf("%s args lack the CA file: %v", c.str("name"), args(c))
					}
					mounted := false
					for _, m := range c.list("volumeMounts") {
						if at(m, "name") == "s3-ca" && at(m, "mountPath") == "/etc/isr-operator/s3-ca" && at(m, "readOnly") == true {
							mounted = true
						}
					}
					if !mounted {
						t.Errorf("%s does not mount s3-ca read-only: %v", c.str("name"), c.list("volumeMounts"))
					}
				}
				if mode == "sidecar" {
					// The server keeps its own token over the pod's.
					if len(server.list("volumeMounts")) != 2 {
						t.Errorf("sidecar server mounts %v, want its token and the CA", server.list("volumeMounts"))
					}
				}
				for _, pod := range []object{managerPod, serverPod} {
					n := 0
					for _, v := range pod.list("volumes") {
						if at(v, "name") != "s3-ca" {
							continue
						}
						n++
						name := at(v, "configMap", "name")
						if source == "secret" {
							name = at(v, "secret", "secretName")
						}
						if name != "store-ca" {
							t.Errorf("s3-ca volume = %v, want %s store-ca", v, source)
						}
					}
					if n != 1 {
						t.Errorf("%d s3-ca volumes in a pod, want 1", n)
					}
				}
			})
		}
	}

	manager, server, _, _ := workloads(t, render(t, append(s3Values, "storage.s3.caFile=/etc/ssl/store.pem")...), "deployment")
	for _, c := range []object{manager, server} {
		if !slices.Contains(args(c), "--s3-ca-file=/etc/ssl/store.pem") {
			t.Errorf("%s args lack --s3-ca-file from caFile: %v", c.str("name"), args(c))
		}
	}
}

func TestS3ValuesAreChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		sets []string
		want string
	}{
		{"no endpoint or bucket", []string{"storage.type=s3"}, "/storage/s3/endpoint"},
		{"no bucket", []string{"storage.type=s3", "storage.s3.endpoint=https://s3.example.com"}, "/storage/s3/bucket"},
		{"an endpoint that is not a URL", []string{"storage.type=s3", "storage.s3.endpoint=s3.example.com", "storage.s3.bucket=b"}, "/storage/s3/endpoint"},
		{"an unknown storage", []string{"storage.type=etcd"}, "/storage/type"},
		{"a bad timeout", append(append([]string{}, s3Values...), "storage.s3.timeout=soon"), "/storage/s3/timeout"},
		{"two CA sources", append(append([]string{}, s3Values...), "storage.s3.ca.configMap=a", "storage.s3.ca.secret=b"), "set one of caFile, ca.configMap and ca.secret"},
		{"an unknown key", append(append([]string{}, s3Values...), "storage.s3.accessKey=x"), "accessKey"},
		{"a cache size that is not a quantity", []string{"storage.cacheSize=lots"}, "/storage/cacheSize"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := helmTemplate(t, namespace, c.sets...)
			if err == nil {
				t.Fatalf("helm template %v succeeded", c.sets)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("helm template %v: %s, want it to name %q", c.sets, out, c.want)
			}
		})
	}
}

// hasS3Flags reports whether c got any --s3-* flag.
func hasS3Flags(c object) bool {
	for _, a := range args(c) {
		if strings.HasPrefix(a, "--s3-") {
			return true
		}
	}
	return false
}

func TestServerTypeHoldsTheServersOnTheOldStoreDuringAMove(t *testing.T) {
	for _, mode := range []string{"deployment", "sidecar"} {
		t.Run("to S3, "+mode, func(t *testing.T) {
			ms := render(t, append(s3Values, "storage.serverType=configmap", "server.mode="+mode)...)
			manager, server, _, _ := workloads(t, ms, mode)
			if !slices.Contains(args(manager), "--storage=s3") || !hasS3Flags(manager) || len(secretEnv(manager)) != 2 {
				t.Errorf("manager is not on S3 with its credentials: args %v, env %v", args(manager), secretEnv(manager))
			}
			if !slices.Contains(args(server), "--storage=configmap") || hasS3Flags(server) || len(secretEnv(server)) != 0 {
				t.Errorf("server is not on ConfigMaps alone: args %v, env %v", args(server), secretEnv(server))
			}
			managerRole, serverRole := ms.get(t, "ClusterRole", fullname+"-manager"), ms.get(t, "ClusterRole", fullname+"-server")
			if verbs, _ := configMapVerbs(managerRole); !slices.Equal(verbs, []string{"get", "list", "watch"}) {
				t.Errorf("manager on S3: ConfigMap verbs = %v, want only get, list, watch", verbs)
			}
			if verbs, _ := configMapVerbs(serverRole); !slices.Equal(verbs, []string{"get", "list", "watch"}) {
				t.Errorf("server on ConfigMaps: ConfigMap verbs = %v, want get, list, watch", verbs)
			}
		})
	}

	t.Run("back to ConfigMaps", func(t *testing.T) {
		ms := render(t, append(s3Values, "storage.type=configmap", "storage.serverType=s3")...)
		manager, server, _, _ := workloads(t, ms, "deployment")
		if !slices.Contains(args(manager), "--storage=configmap") || hasS3Flags(manager) || len(secretEnv(manager)) != 0 {
			t.Errorf("manager is not on ConfigMaps alone: args %v, env %v", args(manager), secretEnv(manager))
		}
		if !slices.Contains(args(server), "--storage=s3") || !slices.Contains(args(server), "--s3-bucket=pages") || len(secretEnv(server)) != 2 {
			t.Errorf("server is not on S3 with its credentials: args %v, env %v", args(server), secretEnv(server))
		}
		managerRole, serverRole := ms.get(t, "ClusterRole", fullname+"-manager"), ms.get(t, "ClusterRole", fullname+"-server")
		if verbs, _ := configMapVerbs(managerRole); !slices.Contains(verbs, "create") {
			t.Errorf("manager on ConfigMaps: ConfigMap verbs = %v, want it to write them", verbs)
		}
		if verbs, found := configMapVerbs(serverRole); found {
			t.Errorf("server on S3: ConfigMap verbs = %v, want none", verbs)
		}
	})

	out, err := helmTemplate(t, namespace, "storage.serverType=s3")
	if err == nil || !strings.Contains(out, "/storage/s3/endpoint") {
		t.Errorf("storage.serverType=s3 without an endpoint: err %v, %s", err, out)
	}
}
