//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const (
	release   = "isr"
	namespace = "isr-system"
	chart     = "charts/isr-operator"
)

// container is the part of a Deployment the tests read.
type deployment struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Replicas *int `json:"replicas"`
		Template struct {
			Spec struct {
				ServiceAccountName string `json:"serviceAccountName"`
				Containers         []struct {
					Name string   `json:"name"`
					Args []string `json:"args"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// workload finds the installed container by name, with its Deployment's
// ServiceAccount and args.
func workload(container string) (sa string, args []string) {
	var list struct {
		Items []deployment `json:"items"`
	}
	Expect(json.Unmarshal([]byte(kubectl("get", "deployments", "-n", namespace, "-o", "json")), &list)).To(Succeed())
	for _, d := range list.Items {
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == container {
				return d.Spec.Template.Spec.ServiceAccountName, c.Args
			}
		}
	}
	Fail("no container " + container + " in the release")
	return "", nil
}

// samples are config/samples pointed at the test's origin.
func samples() []byte {
	files, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(files).NotTo(BeEmpty())
	var out strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		out.WriteString("---\n")
		out.WriteString(strings.ReplaceAll(string(b), "http://127.0.0.1:8088", originURL))
	}
	return []byte(out.String())
}

func page(url string) (int, string, http.Header) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var _ = Describe("the chart", func() {
	It("passes helm lint --strict", func() {
		helm("lint", "--strict", chart)
	})

	DescribeTable("renders manifests the API server accepts",
		func(namespaces []string, args ...string) {
			for _, ns := range append([]string{"isr-render"}, namespaces...) {
				_, _ = run(kubectlBin, "create", "namespace", ns)
			}
			out := helm(append([]string{"template", "render", chart, "-n", "isr-render"}, args...)...)
			// CRDs first, so that the dry run of everything else knows them.
			o, err := runEnv(adminKube, []byte(out), kubectlBin, "apply", "--dry-run=server", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), o)
		},
		Entry("defaults", nil),
		Entry("server as a sidecar on its own token", nil, "--set", "server.mode=sidecar", "--set", "manager.replicas=2"),
		Entry("no admission policies, no disruption budget, no spreading", nil, "--set", "admissionPolicies.enabled=false",
			"--set", "server.podDisruptionBudget.enabled=false", "--set", "server.topologySpreadConstraints=null"),
		Entry("server as its own Deployment with HPA and PDB", nil,
			"--set", "server.mode=deployment", "--set", "server.replicas=3",
			"--set", "server.autoscaling.enabled=true", "--set", "server.podDisruptionBudget.enabled=true"),
		Entry("a list of watched namespaces", []string{"shop", "blog"}, "--set", "watchNamespaces={shop,blog}"),
		Entry("ingress and two managers", nil, "--set", "ingress.enabled=true", "--set", "manager.replicas=2"),
		Entry("object storage with a Secret per component and a CA bundle, in both server modes", nil,
			"--set", "storage.type=s3", "--set", "storage.s3.endpoint=https://s3.example.com", "--set", "storage.s3.bucket=pages",
			"--set", "storage.s3.manager.existingSecret=s3-manager", "--set", "storage.s3.server.existingSecret=s3-server",
			"--set", "storage.s3.ca.configMap=s3-ca"),
		Entry("object storage, server as a sidecar, watched namespaces", []string{"shop"}, "--set", "server.mode=sidecar",
			"--set", "watchNamespaces={shop}", "--set", "storage.type=s3", "--set", "storage.s3.endpoint=https://s3.example.com",
			"--set", "storage.s3.bucket=pages", "--set", "storage.s3.ca.secret=s3-ca"),
	)

	It("refuses unknown and mistyped values", func() {
		out, err := run(helmBin, "template", "bad", chart, "--set", "nosuchkey=1")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("nosuchkey"))
		out, err = run(helmBin, "template", "bad", chart, "--set", "server.replicas=many")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("replicas"))
	})

	It("renders config/default, which the API server accepts", func() {
		// The dry run cannot create the namespace the rest lives in.
		_, _ = run(kubectlBin, "create", "namespace", namespace)
		out := kubectl("kustomize", "config/default")
		o, err := runEnv(adminKube, []byte(out), kubectlBin, "apply", "--dry-run=server", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), o)
	})
})

var _ = Describe("a user's day", Ordered, func() {
	var serverURL, apiURL string
	// serverKube and serverArgs run more servers as the chart's pods would.
	var serverKube string
	var serverArgs []string
	// managerMetrics and serverMetrics are where the binaries' metrics
	// listen, for Prometheus.
	var managerMetrics, serverMetrics string

	BeforeAll(func() {
		SetDefaultEventuallyTimeout(60 * time.Second)
		SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	})

	It("installs with helm", func() {
		// The test's origin listens on loopback, which the origin guard
		// refuses unless allowed, as a user with a same-pod origin would.
		helm("install", release, chart, "-n", namespace, "--create-namespace",
			"--set", "crds.keep=true",
			"--set", "manager.allowOrigins={127.0.0.1}",
			"--set", "revalidateAPI.enabled=true", "--set", "revalidateAPI.existingSecret=cms-webhook")
		kubectl("create", "secret", "generic", "cms-webhook", "-n", namespace, "--from-literal=token=e2e-token")
		kubectl("wait", "--for=condition=Established", "crd/staticpages.pages.isr-operator.io", "--timeout=60s")
		// The README's quick start: the cluster admin grants the namespace
		// of the pages every host.
		kubectl("annotate", "namespace", "default", "--overwrite", "isr-operator.io/hosts=*")
	})

	It("runs the manager and the server with the chart's flags and RBAC", func() {
		managerSA, managerArgs := workload("manager")
		var serverSA string
		serverSA, serverArgs = workload("server")
		Expect(managerSA).NotTo(Equal(serverSA), "the server gets its own, smaller identity")

		managerKube := serviceAccountKubeconfig(namespace, managerSA)
		serverKube = serviceAccountKubeconfig(namespace, serverSA)

		// Later flags win: only addresses change, to fit beside each other here.
		managerProbe := freePort()
		managerMetrics = fmt.Sprintf("127.0.0.1:%d", freePort())
		startEnv("manager", []string{"KUBECONFIG=" + managerKube, "POD_NAMESPACE=" + namespace}, filepath.Join(workDir, "manager"),
			append(managerArgs, "--metrics-bind-address="+managerMetrics, fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", managerProbe))...)
		Eventually(func() int {
			code, _, _ := page(fmt.Sprintf("http://127.0.0.1:%d/readyz", managerProbe))
			return code
		}).Should(Equal(http.StatusOK), "the manager starts with the chart's flags")
		port := freePort()
		serverURL = fmt.Sprintf("http://127.0.0.1:%d", port)
		probe := freePort()
		apiURL = fmt.Sprintf("http://127.0.0.1:%d/revalidate", freePort())
		serverMetrics = fmt.Sprintf("127.0.0.1:%d", freePort())
		startEnv("server", []string{"KUBECONFIG=" + serverKube, "POD_NAMESPACE=" + namespace}, filepath.Join(workDir, "server"),
			append(serverArgs, fmt.Sprintf("--listen-address=127.0.0.1:%d", port),
				"--revalidate-bind-address="+strings.TrimSuffix(strings.TrimPrefix(apiURL, "http://"), "/revalidate"),
				"--metrics-bind-address="+serverMetrics, fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe))...)
		Eventually(func() int {
			code, _, _ := page(fmt.Sprintf("http://127.0.0.1:%d/readyz", probe))
			return code
		}).Should(Equal(http.StatusOK))

		By("proving the server cannot write pages or delete StaticPages")
		as := "--as=system:serviceaccount:" + namespace + ":" + serverSA
		for _, verb := range [][]string{{"create", "configmaps"}, {"update", "configmaps"}, {"delete", "staticpages"}, {"update", "staticpages/status"}, {"list", "secrets"}} {
			out, _ := run(kubectlBin, "auth", "can-i", verb[0], verb[1], as, "-n", "default")
			Expect(strings.TrimSpace(out)).To(Equal("no"), "server may %s %s", verb[0], verb[1])
		}
		out, _ := run(kubectlBin, "auth", "can-i", "patch", "staticpages", as, "-n", "default")
		Expect(strings.TrimSpace(out)).To(Equal("yes"))
		out, _ = run(kubectlBin, "auth", "can-i", "get", "secrets/cms-webhook", as, "-n", namespace)
		Expect(strings.TrimSpace(out)).To(Equal("yes"), "the server reads its API credentials")
		// WebhookReceivers' Secrets are read by name, one per receiver:
		// the server may get a Secret, never list or watch them.
		out, _ = run(kubectlBin, "auth", "can-i", "watch", "secrets", as, "-n", namespace)
		Expect(strings.TrimSpace(out)).To(Equal("no"), "and watches no other Secret")
	})

	// Before the samples, so that everything the binaries write from here
	// on goes through the policies.
	admissionPolicySpecs()

	// Tenants who may write pages in their own namespace only, with the
	// admission policies and without them (tenancy_test.go).
	tenancySpecs(&serverURL)

	It("serves the samples once they are Ready", func() {
		o, err := runEnv(adminKube, samples(), kubectlBin, "apply", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), o)
		kubectl("wait", "--for=condition=Ready", "staticpage", "--all", "--timeout=60s")
		Eventually(func(g Gomega) {
			code, body, hdr := page(serverURL + "/products/42")
			g.Expect(code).To(Equal(http.StatusOK))
			g.Expect(body).To(ContainSubstring("Product 42"))
			g.Expect(hdr.Get("Cache-Status")).To(HavePrefix("isr-operator; hit"))
		}).Should(Succeed())
		out := kubectl("get", "staticpages")
		Expect(out).To(MatchRegexp(`product-42\s+/products/42\s+10s\s+True`))
	})

	// The sample StaticPageSet (pageset_test.go).
	pageSetSpecs(&serverURL, &serverKube, &serverArgs)
	// One creation budget across replicas (creationbudget_test.go).
	creationBudgetSpecs(&serverKube, &serverArgs)
	connectionLimitSpecs(&serverKube, &serverArgs)

	// A real Prometheus with the chart's alerts (monitoring_test.go).
	monitoringSpecs(&managerMetrics, &serverMetrics)

	// A real Varnish in front of a server, purged on change (cdn_test.go).
	cdnSpecs(&serverKube, &managerMetrics)

	It("re-renders on kubectl annotate, one page or many", func() {
		_, before, _ := page(serverURL + "/about")
		kubectl("annotate", "staticpage", "about", "isr-operator.io/revalidate=token-1", "--overwrite")
		kubectl("wait", "staticpage/about", "--for=jsonpath={.status.lastHandledRevalidate}=token-1", "--timeout=60s")
		Eventually(func() string { _, b, _ := page(serverURL + "/about"); return b }).ShouldNot(Equal(before))

		kubectl("label", "staticpage", "home", "about", "batch=yes")
		kubectl("annotate", "staticpage", "-l", "batch=yes", "isr-operator.io/revalidate=token-2", "--overwrite")
		for _, name := range []string{"home", "about"} {
			kubectl("wait", "staticpage/"+name, "--for=jsonpath={.status.lastHandledRevalidate}=token-2", "--timeout=60s")
		}
		Expect(kubectl("get", "staticpage", "product-42", "-o", "jsonpath={.status.lastHandledRevalidate}")).NotTo(Equal("token-2"))
	})

	It("re-renders through the revalidate API as a CMS would", func() {
		post := func(token, body string) (int, string) {
			req, err := http.NewRequest(http.MethodPost, apiURL, strings.NewReader(body))
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer func() { _ = resp.Body.Close() }()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		code, body := post("wrong", `{"paths": ["/products/42"]}`)
		Expect(code).To(Equal(http.StatusUnauthorized), body)

		_, before, _ := page(serverURL + "/products/42")
		code, body = post("e2e-token", `{"paths": ["/products/42"], "wait": true}`)
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring(`"live":true`))
		_, after, _ := page(serverURL + "/products/42")
		Expect(after).NotTo(Equal(before), "the new render is served when the call returns")
		var resp struct {
			Token string `json:"token"`
		}
		Expect(json.Unmarshal([]byte(body), &resp)).To(Succeed())
		Expect(kubectl("get", "staticpage", "product-42", "-o", "jsonpath={.status.lastHandledRevalidate}")).To(Equal(resp.Token))
	})

	// CMS webhooks through WebhookReceivers (webhooks_test.go).
	webhookSpecs(&serverURL, &apiURL)

	// The core flows of one page on ConfigMaps; objectStorageSpecs runs
	// them again on the object store.
	pageFlowSpecs("ConfigMaps", func() string { return serverURL }, func() string { return apiURL })

	DescribeTable("refuses invalid StaticPages at apply time and creates nothing",
		func(spec, message string) {
			name := "invalid-" + fmt.Sprint(GinkgoRandomSeed()%1000)
			manifest := fmt.Sprintf("apiVersion: pages.isr-operator.io/v1alpha1\nkind: StaticPage\nmetadata:\n  name: %s\nspec:\n%s", name, spec)
			out, err := runEnv(adminKube, []byte(manifest), kubectlBin, "apply", "-f", "-")
			Expect(err).To(HaveOccurred())
			Expect(out).To(ContainSubstring(message))
			out, _ = run(kubectlBin, "get", "staticpage", name)
			Expect(out).To(ContainSubstring("NotFound"))
		},
		Entry("bad route", "  route: products/42\n  origin: {url: http://o.example/}\n", "route must be an absolute path"),
		Entry("route with ..", "  route: /a/../b\n  origin: {url: http://o.example/}\n", "'..' segments"),
		Entry("bad origin scheme", "  route: /x\n  origin: {url: file:///etc/passwd}\n", "origin.url must be an absolute http:// or https:// URL"),
		Entry("bad interval", "  route: /x\n  origin: {url: http://o.example/}\n  revalidate: 10ms\n", "revalidate must be a duration of at least 1s"),
	)

	It("accepts a signed call once across server replicas and restarts", func() {
		kubectl("patch", "secret", "cms-webhook", "-n", namespace, "--type=merge", "-p", `{"stringData":{"hmac-secret":"e2e-hmac"}}`)
		a := startServer("server-a", serverKube, serverArgs)
		b := startServer("server-b", serverKube, serverArgs)
		body := `{"paths": ["/products/42"]}`
		ts := time.Now()
		// The Secret change reaches each replica through its watch.
		Eventually(func() int { c, _ := signedCall(a.api, "e2e-hmac", `{"paths": ["/nowhere"]}`, time.Now()); return c }).Should(Equal(http.StatusNotFound))
		code, out := signedCall(a.api, "e2e-hmac", body, ts)
		Expect(code).To(Equal(http.StatusAccepted), out)
		var resp struct {
			Token string `json:"token"`
		}
		Expect(json.Unmarshal([]byte(out), &resp)).To(Succeed())
		kubectl("wait", "staticpage/product-42", "--for=jsonpath={.status.lastHandledRevalidate}="+resp.Token, "--timeout=60s")

		By("replaying it to the other replica")
		code, out = signedCall(b.api, "e2e-hmac", body, ts)
		Expect(code).To(Equal(http.StatusUnauthorized), out)
		Expect(out).To(ContainSubstring("signature already used"))

		By("replaying it to the first replica after a restart")
		a.restart(30 * time.Second)
		code, out = signedCall(a.api, "e2e-hmac", body, ts)
		Expect(code).To(Equal(http.StatusUnauthorized), out)

		By("re-rendering nothing for the replays")
		Consistently(func() string {
			return kubectl("get", "staticpage", "product-42", "-o", "jsonpath={.metadata.annotations.isr-operator\\.io/revalidate}")
		}).WithTimeout(3 * time.Second).Should(Equal(resp.Token))
	})

	It("after SIGTERM, turns not ready at once, serves new connections for the delay, and finishes a slow download", func() {
		body := bigBody(6 << 20)
		origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, body)
		}))
		DeferCleanup(origin.Close)
		manifest := fmt.Sprintf("apiVersion: pages.isr-operator.io/v1alpha1\nkind: StaticPage\nmetadata: {name: big}\nspec:\n  route: /big\n  origin: {url: %q}\n", origin.URL+"/big")
		out, err := runEnv(adminKube, []byte(manifest), kubectlBin, "apply", "-f", "-")
		Expect(err).NotTo(HaveOccurred(), out)
		kubectl("wait", "--for=condition=Ready", "staticpage/big", "--timeout=60s")

		const delay, grace = 5 * time.Second, 10 * time.Second
		s := startServer("server-shutdown", serverKube, serverArgs, "--shutdown-delay="+delay.String(), "--shutdown-grace-period="+grace.String())
		Eventually(func() int { c, _, _ := page(s.url + "/big"); return c }).Should(Equal(http.StatusOK))

		By("starting a slow download of 6 MiB")
		req, err := http.NewRequest(http.MethodGet, s.url+"/big", nil)
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := slowClient().Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		got := make([]byte, 0, len(body))
		chunk := make([]byte, 32<<10)
		n, err := io.ReadFull(resp.Body, chunk)
		Expect(err).NotTo(HaveOccurred())
		got = append(got, chunk[:n]...)

		By("and a download whose client stops reading")
		stalled, err := slowClient().Do(req.Clone(context.Background()))
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = stalled.Body.Close() }()
		_, err = io.ReadFull(stalled.Body, make([]byte, 32<<10))
		Expect(err).NotTo(HaveOccurred())

		signalled := time.Now()
		s.terminate()
		downloaded := make(chan error, 1)
		go func() {
			// 32 KiB per 40 ms at most: the download outlasts the delay
			// by seconds.
			since := 0
			for {
				n, err := resp.Body.Read(chunk)
				got = append(got, chunk[:n]...)
				if err != nil {
					if err == io.EOF {
						err = nil
					}
					downloaded <- err
					return
				}
				if since += n; since >= 32<<10 {
					since = 0
					time.Sleep(40 * time.Millisecond)
				}
			}
		}()

		// Ready turns false first and new connections are still served
		// after that: readiness failed before the delay ended. The delay is
		// long so that a slow machine still sees the phases in order.
		By("failing /readyz")
		Eventually(s.ready).WithPolling(50 * time.Millisecond).Should(BeFalse())

		By("serving new connections after that, asking them to close")
		fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		for range 3 {
			r, err := fresh.Get(s.url + "/products/42")
			Expect(err).NotTo(HaveOccurred())
			_, _ = io.Copy(io.Discard, r.Body)
			_ = r.Body.Close()
			Expect(r.StatusCode).To(Equal(http.StatusOK))
			Expect(r.Close).To(BeTrue(), "a response during the delay carries Connection: close")
		}

		By("finishing the download that was in flight")
		Eventually(downloaded).WithTimeout(delay + grace).Should(Receive(BeNil()))
		Expect(len(got)).To(Equal(len(body)))
		Expect(string(got) == body).To(BeTrue(), "the body arrived whole")
		took := time.Since(signalled)
		report("slow download: 6 MiB finished %s after SIGTERM (delay %s, grace %s)", took.Round(time.Millisecond), delay, grace)

		// The stalled download would hold the drain forever: the server
		// gives up on it when the grace period ends and exits cleanly, not
		// when the manager's own shutdown timeout kills its runnables.
		By("exiting cleanly although a client stopped reading")
		Eventually(s.exited).Should(BeTrue())
		Expect(s.cmd.ProcessState.ExitCode()).To(Equal(0), "the server exits with status 0 after the grace period")
		report("server exited %s after SIGTERM", time.Since(signalled).Round(time.Millisecond))
		rest, err := io.ReadAll(stalled.Body)
		Expect(err != nil || len(rest) < len(body)-32<<10).To(BeTrue(), "the stalled download was cut off, not completed")
	})

	It("restarts two servers in turn behind a balancer under steady load with no failed request", func() {
		a := startServer("server-roll-a", serverKube, serverArgs, "--shutdown-delay=2s", "--shutdown-grace-period=10s")
		b := startServer("server-roll-b", serverKube, serverArgs, "--shutdown-delay=2s", "--shutdown-grace-period=10s")
		for _, s := range []*serverProc{a, b} {
			Eventually(func() int { c, _, _ := page(s.url + "/products/42"); return c }).Should(Equal(http.StatusOK))
		}
		lb := newBalancer(a, b)
		l := startLoad(lb.url, "/products/42", 4)
		time.Sleep(time.Second)
		a.restart(20 * time.Second)
		Eventually(func() bool { return lb.ready[0].Load() }).Should(BeTrue())
		b.restart(20 * time.Second)
		Eventually(func() bool { return lb.ready[1].Load() }).Should(BeTrue())
		time.Sleep(time.Second)
		l.end()
		report("rolling restart of 2 servers: %d requests, %d failed, longest %s",
			l.requests.Load(), l.failures.Load(), time.Duration(l.longest.Load()).Round(time.Millisecond))
		Expect(l.requests.Load()).To(BeNumerically(">", 100))
		Expect(l.failures.Load()).To(BeZero(), "failures: %v", l.kinds)
		Expect(lb.failed.Load()).To(BeZero())
	})

	// With the ConfigMap flows done: the same install moved to an object
	// store (objectstorage_test.go).
	objectStorageSpecs()

	It("answers 404 once a page is deleted", func() {
		kubectl("delete", "staticpage", "home")
		Eventually(func() int { c, _, _ := page(serverURL + "/"); return c }).Should(Equal(http.StatusNotFound))
	})

	It("upgrades values and uninstalls cleanly, keeping the CRD when asked", func() {
		Expect(kubectl("get", "deployment", release+"-isr-operator-server", "-n", namespace, "-o", "jsonpath={.spec.replicas}")).To(Equal("2"))
		helm("upgrade", release, chart, "-n", namespace, "--reuse-values", "--set", "server.replicas=3")
		Expect(kubectl("get", "deployment", release+"-isr-operator-server", "-n", namespace, "-o", "jsonpath={.spec.replicas}")).To(Equal("3"))
		Expect(kubectl("get", "crd", "staticpages.pages.isr-operator.io", "-o", "jsonpath={.metadata.annotations.helm\\.sh/resource-policy}")).To(Equal("keep"))

		helm("uninstall", release, "-n", namespace, "--wait")
		out := kubectl("get", "deployments,services,serviceaccounts,roles,rolebindings,poddisruptionbudgets", "-n", namespace, "-l", "app.kubernetes.io/instance="+release, "-o", "name")
		Expect(strings.TrimSpace(out)).To(BeEmpty())
		out = kubectl("get", "clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings", "-l", "app.kubernetes.io/instance="+release, "-o", "name")
		Expect(strings.TrimSpace(out)).To(BeEmpty())
		kubectl("get", "crd", "staticpages.pages.isr-operator.io")
		Expect(kubectl("get", "staticpages", "-o", "name")).To(ContainSubstring("product-42"), "pages survive an uninstall that keeps the CRD")
	})
})
