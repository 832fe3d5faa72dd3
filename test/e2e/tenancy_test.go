//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// hostsAnnotation is the Namespace annotation that grants hosts
// (route.HostsAnnotation), spelled as a cluster admin types it.
const hostsAnnotation = "isr-operator.io/hosts"

// readyReason is the jsonpath of a page's or set's Ready reason.
const readyReason = `{.status.conditions[?(@.type=="Ready")].reason}`

// asTenant runs kubectl as user, a tenant whose RBAC (tenantRBAC) allows
// StaticPages and StaticPageSets in its own namespaces only, with stdin.
func asTenant(user string, stdin string, args ...string) (string, error) {
	var in []byte
	if stdin != "" {
		in = []byte(stdin)
	}
	return runEnv(adminKube, in, kubectlBin,
		append([]string{"--as=" + user, "--as-group=isr-tenants", "--as-group=system:authenticated"}, args...)...)
}

// tenantRBAC gives user, in namespace ns, what a platform team grants a
// team: StaticPages and StaticPageSets, nothing else.
func tenantRBAC(ns, user string) {
	kubectl("create", "role", "isr-tenant", "-n", ns, "--verb=get,list,watch,create,update,patch,delete",
		"--resource=staticpages.pages.isr-operator.io,staticpagesets.pages.isr-operator.io")
	kubectl("create", "rolebinding", "isr-tenant-"+user, "-n", ns, "--role=isr-tenant", "--user="+user)
}

// visit is what a visitor of host gets for path from the server at
// serverURL: the body of a 200, else the status code.
func visit(serverURL, host, path string) func() string {
	return func() string {
		req, err := http.NewRequest(http.MethodGet, serverURL+path, nil)
		Expect(err).NotTo(HaveOccurred())
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Sprint(resp.StatusCode)
		}
		return string(b)
	}
}

// tenantPageYAML is a StaticPage of ns for host ("" for none) and route,
// rendered from origin+src.
func tenantPageYAML(ns, name, host, route, origin, src string) string {
	h := ""
	if host != "" {
		h = "\n  host: " + host
	}
	return fmt.Sprintf("apiVersion: pages.isr-operator.io/v1alpha1\nkind: StaticPage\nmetadata: {name: %s, namespace: %s}\nspec:\n  route: %s%s\n  origin: {url: %q}\n",
		name, ns, route, h, origin+src)
}

// tenantSetYAML is a StaticPageSet of ns for host and pattern, prerendering
// paths, rendered from origin+src.
func tenantSetYAML(ns, name, host, pattern, origin, src string, paths ...string) string {
	return fmt.Sprintf("apiVersion: pages.isr-operator.io/v1alpha1\nkind: StaticPageSet\nmetadata: {name: %s, namespace: %s}\nspec:\n  route: %q\n  host: %s\n  origin: {url: %q}\n  prerender: {paths: [%s]}\n",
		name, ns, pattern, host, origin+src, strings.Join(paths, ", "))
}

// tenancySpecs proves, with the installed release, that a tenant who may
// write StaticPages and StaticPageSets in its own namespace only (kubectl
// impersonating it) cannot serve a host granted to another namespace: once
// with the chart's admission policies, which refuse at apply, and once with
// admissionPolicies.enabled=false, where the manager and the server alone
// enforce the grants. It runs inside the ordered user flow, after the
// install, and sends visitors to serverURL with the hosts in Host.
func tenancySpecs(serverURL *string) {
	for _, policies := range []bool{true, false} {
		tenancyPass(serverURL, policies)
	}
}

// tenancyPass is one pass of tenancySpecs, with or without the admission
// policies. Each pass has its own namespaces and hosts.
func tenancyPass(serverURL *string, policies bool) {
	suffix, title := "", "with the admission policies"
	if !policies {
		suffix, title = "-unguarded", "with admission policies disabled: the manager and the server enforce"
	}
	var (
		nsA, nsB     = "tenant-a" + suffix, "tenant-b" + suffix
		hostA, hostB = "shop" + suffix + ".example.com", "b" + suffix + ".example.com"
		// userA and userB are the tenants, one per namespace.
		userA, userB = "tenant-a", "tenant-b"
	)

	Describe("tenants' hosts "+title, func() {
		var origin string
		// at is the server's answer to a visitor of host for path.
		at := func(host, path string) func() string { return visit(*serverURL, host, path) }
		// pageOf is the body the origin renders for src.
		pageOf := func(src string) string { return "page " + src }

		// refusedOrWithheld expects what kubectl said (out, err) to a
		// tenant's write of kind/name in ns for a host not granted: with the
		// policies, a refusal naming the annotation and the grant command;
		// without them, the write is accepted and the object's Ready
		// condition says HostNotAllowed, naming the same.
		refusedOrWithheld := func(out string, err error, kind, ns, name string) {
			GinkgoHelper()
			if policies {
				Expect(err).To(HaveOccurred(), out)
				Expect(out).To(ContainSubstring("is not granted to namespace " + ns + " by its " + hostsAnnotation + " annotation"))
				Expect(out).To(ContainSubstring("kubectl annotate namespace " + ns + " --overwrite"))
				return
			}
			Expect(err).NotTo(HaveOccurred(), out)
			kubectl("wait", kind+"/"+name, "-n", ns, "--for=jsonpath="+readyReason+"=HostNotAllowed", "--timeout=60s")
			msg := kubectl("get", kind, name, "-n", ns, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].message}`)
			Expect(msg).To(ContainSubstring(hostsAnnotation))
			Expect(msg).To(ContainSubstring("kubectl annotate namespace " + ns + " --overwrite"))
		}

		BeforeAll(func() {
			o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = io.WriteString(w, pageOf(r.URL.Path))
			}))
			DeferCleanup(o.Close)
			origin = o.URL

			if !policies {
				helm("upgrade", release, chart, "-n", namespace, "--reuse-values", "--set", "admissionPolicies.enabled=false")
				DeferCleanup(func() {
					helm("upgrade", release, chart, "-n", namespace, "--reuse-values", "--set", "admissionPolicies.enabled=true")
					Expect(kubectl("get", "validatingadmissionpolicies", "-o", "name")).To(ContainSubstring("host-grants"))
				})
				out := kubectl("get", "validatingadmissionpolicies", "-o", "name")
				Expect(out).NotTo(ContainSubstring("host-grants"), "the chart installs no host grants policy")
			}

			By("granting each tenant's namespace its host, as a cluster admin")
			for ns, grant := range map[string]string{nsA: hostA, nsB: hostB} {
				kubectl("create", "namespace", ns)
				kubectl("annotate", "namespace", ns, hostsAnnotation+"="+grant)
				// The tenants' pages go before their origin does, so that the
				// rest of the flow has no page of theirs to render.
				DeferCleanup(func() {
					kubectl("delete", "staticpagesets,staticpages", "--all", "-n", ns, "--timeout=60s")
				})
			}
			tenantRBAC(nsA, userA)
			tenantRBAC(nsB, userB)

			// A policy installed or removed is in force within seconds: probe
			// until it is, with a new page each time, since an update that
			// keeps the host passes the policy.
			n := 0
			Eventually(func() bool {
				n++
				_, err := asTenant(userB, tenantPageYAML(nsB, fmt.Sprintf("probe-%d", n), hostA, "/probe", origin, "/b/probe"), "create", "-f", "-")
				return err != nil
			}).Should(Equal(policies), "the host grants policy is in force only with the admission policies")
			kubectl("delete", "staticpages", "--all", "-n", nsB, "--timeout=60s")
			for _, check := range [][]string{
				{"create", "staticpages", "-n", nsB, "yes"},
				{"create", "staticpagesets", "-n", nsB, "yes"},
				{"create", "staticpages", "-n", nsA, "no"},
				{"create", "configmaps", "-n", nsB, "no"},
			} {
				out, _ := asTenant(userB, "", append([]string{"auth", "can-i"}, check[:len(check)-1]...)...)
				Expect(strings.TrimSpace(out)).To(Equal(check[len(check)-1]), "tenant b may %v", check[:len(check)-1])
			}
			out, err := asTenant(userB, "", "annotate", "namespace", nsB, "--overwrite", hostsAnnotation+"=*")
			Expect(err).To(HaveOccurred(), out)
			Expect(out).To(ContainSubstring("forbidden"), "a tenant cannot grant itself a host")

			By("serving tenant a's login page on its host")
			out, err = asTenant(userA, tenantPageYAML(nsA, "login", hostA, "/login", origin, "/a/login"), "apply", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), out)
			kubectl("wait", "staticpage/login", "-n", nsA, "--for=condition=Ready", "--timeout=60s")
			Eventually(at(hostA, "/login")).Should(Equal(pageOf("/a/login")))
		})

		refuses := "refuses tenant b's page or set for tenant a's host at apply, naming the annotation"
		if !policies {
			refuses = "accepts tenant b's page or set for tenant a's host but serves nothing, its status naming the annotation"
		}
		It(refuses, func() {
			out, err := asTenant(userB, tenantPageYAML(nsB, "login", hostA, "/login", origin, "/b/login"), "apply", "-f", "-")
			refusedOrWithheld(out, err, "staticpage", nsB, "login")
			out, err = asTenant(userB, tenantSetYAML(nsB, "deals", hostA, "/deals/{id}", origin, "/b/deals/{id}", "/deals/1"), "apply", "-f", "-")
			refusedOrWithheld(out, err, "staticpageset", nsB, "deals")
			if policies {
				out, err = asTenant(userB, "", "get", "staticpage", "login", "-n", nsB)
				Expect(err).To(HaveOccurred(), out)
				Expect(out).To(ContainSubstring("NotFound"))
			}

			Consistently(at(hostA, "/login")).WithTimeout(2 * time.Second).Should(Equal(pageOf("/a/login")))
			Expect(at(hostA, "/deals/1")()).To(Equal("404"))
			Expect(kubectl("get", "staticpages", "-n", nsB, "-l", "pages.isr-operator.io/set=deals", "-o", "name")).To(BeEmpty())
		})

		It("does not let tenant b take a route of tenant a's host by patching an older page", func() {
			By("serving tenant b's page, older than tenant a's, on b's host")
			out, err := asTenant(userB, tenantPageYAML(nsB, "old", hostB, "/b-old", origin, "/b/old"), "apply", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), out)
			Eventually(at(hostB, "/b-old")).Should(Equal(pageOf("/b/old")))
			out, err = asTenant(userA, tenantPageYAML(nsA, "promo", hostA, "/promo", origin, "/a/promo"), "apply", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), out)
			Eventually(at(hostA, "/promo")).Should(Equal(pageOf("/a/promo")))

			By("moving tenant b's page onto tenant a's host and route")
			out, err = asTenant(userB, "", "patch", "staticpage", "old", "-n", nsB, "--type=merge",
				"-p", fmt.Sprintf(`{"spec":{"host":%q,"route":"/promo"}}`, hostA))
			refusedOrWithheld(out, err, "staticpage", nsB, "old")
			if policies {
				Expect(kubectl("get", "staticpage", "old", "-n", nsB, "-o", "jsonpath={.spec.host} {.spec.route}")).To(Equal(hostB + " /b-old"))
				Expect(at(hostB, "/b-old")()).To(Equal(pageOf("/b/old")))
			}
			Consistently(at(hostA, "/promo")).WithTimeout(2 * time.Second).Should(Equal(pageOf("/a/promo")))
			if !policies {
				Eventually(at(hostB, "/b-old")).Should(Equal("404"), "the page left its granted host")
			}

			By("serving nothing there once tenant a's page goes: a later claim is no grant")
			out, err = asTenant(userA, "", "delete", "staticpage", "promo", "-n", nsA, "--timeout=60s")
			Expect(err).NotTo(HaveOccurred(), out)
			Eventually(at(hostA, "/promo")).Should(Equal("404"))
			Consistently(at(hostA, "/promo")).WithTimeout(2 * time.Second).Should(Equal("404"))
		})

		It("does not serve tenant b's page with no host on tenant a's host", func() {
			out, err := asTenant(userB, tenantPageYAML(nsB, "any", "", "/any", origin, "/b/any"), "apply", "-f", "-")
			refusedOrWithheld(out, err, "staticpage", nsB, "any")
			Consistently(at(hostA, "/any")).WithTimeout(2 * time.Second).Should(Equal("404"))
			Expect(at(hostB, "/any")()).To(Equal("404"))
		})

		It("does not let tenant b's /{rest...} set catch tenant a's host", func() {
			out, err := asTenant(userB, tenantSetYAML(nsB, "catch-all", hostA, "/{rest...}", origin, "/b/{rest...}", "/anything", "/login"), "apply", "-f", "-")
			refusedOrWithheld(out, err, "staticpageset", nsB, "catch-all")
			Consistently(at(hostA, "/anything")).WithTimeout(2 * time.Second).Should(Equal("404"))
			Expect(at(hostA, "/never-built")()).To(Equal("404"))
			Expect(at(hostA, "/login")()).To(Equal(pageOf("/a/login")))
			Expect(kubectl("get", "staticpages", "-n", nsB, "-l", "pages.isr-operator.io/set=catch-all", "-o", "name")).To(BeEmpty())
		})

		It("keeps tenant a's set's prerendered pages when tenant b has a page of the same path", func() {
			out, err := asTenant(userA, tenantSetYAML(nsA, "catalog", hostA, "/catalog/{id}", origin, "/a/catalog/{id}", "/catalog/1"), "apply", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), out)
			Eventually(at(hostA, "/catalog/1")).Should(Equal(pageOf("/a/catalog/1")))
			children := func() string {
				return kubectl("get", "staticpages", "-n", nsA, "-l", "pages.isr-operator.io/set=catalog",
					"-o", `jsonpath={range .items[*]}{.spec.route}={.metadata.uid}{" "}{end}`)
			}
			before := children()
			Expect(before).To(HavePrefix("/catalog/1="))

			By("tenant b's page of that path on its own host, and on tenant a's")
			out, err = asTenant(userB, tenantPageYAML(nsB, "catalog-1", hostB, "/catalog/1", origin, "/b/catalog/1"), "apply", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), out)
			Eventually(at(hostB, "/catalog/1")).Should(Equal(pageOf("/b/catalog/1")))
			out, err = asTenant(userB, tenantPageYAML(nsB, "catalog-1-taken", hostA, "/catalog/1", origin, "/b/catalog/1"), "apply", "-f", "-")
			refusedOrWithheld(out, err, "staticpage", nsB, "catalog-1-taken")

			Consistently(children).WithTimeout(2*time.Second).Should(Equal(before), "the set's page is neither dropped nor re-created")
			Expect(at(hostA, "/catalog/1")()).To(Equal(pageOf("/a/catalog/1")))
		})

		It("withdraws tenant a's pages when a cluster admin takes its grant back, and serves them again when it is given back", func() {
			kubectl("annotate", "namespace", nsA, hostsAnnotation+"-")
			Eventually(at(hostA, "/login")).Should(Equal("404"))
			Eventually(at(hostA, "/catalog/1")).Should(Equal("404"))
			kubectl("wait", "staticpage/login", "-n", nsA, "--for=jsonpath="+readyReason+"=HostNotAllowed", "--timeout=60s")

			kubectl("annotate", "namespace", nsA, hostsAnnotation+"="+hostA)
			Eventually(at(hostA, "/login")).Should(Equal(pageOf("/a/login")))
			Eventually(at(hostA, "/catalog/1")).Should(Equal(pageOf("/a/catalog/1")))
		})
	})
}
