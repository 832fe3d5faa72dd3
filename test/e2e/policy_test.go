//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// policyNamespace holds the objects the policy specs write, apart from the
// samples.
const policyNamespace = "policy-check"

// asServiceAccount is kubectl's impersonation of a ServiceAccount of the
// release namespace, with the groups its token would carry.
func asServiceAccount(sa string) []string {
	return []string{
		"--as=system:serviceaccount:" + namespace + ":" + sa,
		"--as-group=system:serviceaccounts", "--as-group=system:serviceaccounts:" + namespace,
		"--as-group=system:authenticated",
	}
}

// kubectlAs runs kubectl as the ServiceAccount sa and returns its output and
// error.
func kubectlAs(sa string, args ...string) (string, error) {
	return run(kubectlBin, append(asServiceAccount(sa), args...)...)
}

// admissionPolicySpecs proves, on the installed release, that the chart's
// ValidatingAdmissionPolicies name the chart's own ServiceAccounts: the
// server may set the revalidate annotation of a StaticPage and nothing else,
// and the manager may write page ConfigMaps only. It runs inside the
// ordered user flow, after the install.
func admissionPolicySpecs() {
	Describe("the chart's identities and admission policies", func() {
		var serverSA, managerSA string

		BeforeAll(func() {
			serverSA, _ = workload("server")
			managerSA, _ = workload("manager")
			_, _ = run(kubectlBin, "create", "namespace", policyNamespace)
			kubectl("annotate", "namespace", policyNamespace, "--overwrite", "isr-operator.io/hosts=*")
			page := fmt.Sprintf(`apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPage
metadata: {name: guarded, namespace: %s, annotations: {team: web}}
spec:
  route: /guarded
  origin: {url: "%s/"}
  suspend: true
`, policyNamespace, originURL)
			out, err := runEnv(adminKube, []byte(page), kubectlBin, "apply", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), out)
		})

		AfterAll(func() {
			_, _ = run(kubectlBin, "delete", "staticpage", "guarded", "-n", policyNamespace, "--ignore-not-found")
		})

		It("lets the server set only the revalidate annotation of a StaticPage", func() {
			n := 0
			Eventually(func() string {
				n++
				patch := fmt.Sprintf(`{"spec":{"origin":{"url":"http://127.0.0.2:9/%d"}}}`, n)
				out, _ := kubectlAs(serverSA, "patch", "staticpage", "guarded", "-n", policyNamespace, "--type=merge", "-p", patch)
				return out
			}).Should(ContainSubstring("may not change the spec of StaticPage " + policyNamespace + "/guarded"))
			Expect(kubectl("get", "staticpage", "guarded", "-n", policyNamespace, "-o", "jsonpath={.spec.origin.url}")).To(Equal(originURL+"/"),
				"no spec patch got through before the policy was active")

			out, err := kubectlAs(serverSA, "annotate", "staticpage", "guarded", "-n", policyNamespace, "team=attacker", "--overwrite")
			Expect(err).To(HaveOccurred(), out)
			Expect(out).To(ContainSubstring("this request changes team"))
			out, err = kubectlAs(serverSA, "label", "staticpage", "guarded", "-n", policyNamespace, "shop=other")
			Expect(err).To(HaveOccurred(), out)
			Expect(out).To(ContainSubstring("may not change the labels"))

			out, err = kubectlAs(serverSA, "annotate", "staticpage", "guarded", "-n", policyNamespace, "isr-operator.io/revalidate=e2e-policy", "--overwrite")
			Expect(err).NotTo(HaveOccurred(), out)
			Expect(kubectl("get", "staticpage", "guarded", "-n", policyNamespace, "-o", "jsonpath={.metadata.annotations.isr-operator\\.io/revalidate}")).To(Equal("e2e-policy"))
		})

		It("lets the server write no ConfigMap, and no Lease but its signature records", func() {
			out, err := kubectlAs(serverSA, "create", "configmap", "from-server", "-n", policyNamespace)
			Expect(err).To(HaveOccurred(), out)
			Expect(out).To(ContainSubstring("forbidden"))

			lease := func(name, component string) []byte {
				return fmt.Appendf(nil, "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: %s, namespace: %s, labels: {isr-operator.io/component: %s}}\n",
					name, namespace, component)
			}
			asServer := append(asServiceAccount(serverSA), "create", "-f", "-")
			out, err = runEnv(adminKube, lease("isr-operator-leader", "revalidate-signature"), kubectlBin, asServer...)
			Expect(err).To(HaveOccurred(), out)
			Expect(out).To(ContainSubstring("whose names start with isr-sig-"))
			sig := "isr-sig-" + strings.Repeat("0f", 20)
			out, err = runEnv(adminKube, lease(sig, "revalidate-signature"), kubectlBin, asServer...)
			Expect(err).NotTo(HaveOccurred(), out)
			out, err = kubectlAs(serverSA, "delete", "lease", sig, "-n", namespace)
			Expect(err).NotTo(HaveOccurred(), out)
		})

		It("mounts the server's own token in a sidecar, and the manager's only in the manager", func() {
			const tokenPath = "/var/run/secrets/kubernetes.io/serviceaccount"
			rendered := helm("template", release, chart, "-n", namespace, "--set", "server.mode=sidecar",
				"--show-only", "templates/manager-deployment.yaml")
			var d appsv1.Deployment
			Expect(yaml.Unmarshal([]byte(rendered), &d)).To(Succeed())
			pod := corev1.Pod{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: "sidecar-token-check", Namespace: namespace},
				Spec:       d.Spec.Template.Spec,
			}
			manifest, err := json.Marshal(pod)
			Expect(err).NotTo(HaveOccurred())
			out, err := runEnv(adminKube, manifest, kubectlBin, "create", "--dry-run=server", "-o", "json", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), out)
			var admitted corev1.Pod
			Expect(json.Unmarshal([]byte(out), &admitted)).To(Succeed(), out)

			projected := ""
			for _, v := range admitted.Spec.Volumes {
				if v.Projected != nil && slices.ContainsFunc(v.Projected.Sources, func(s corev1.VolumeProjection) bool { return s.ServiceAccountToken != nil }) {
					projected = v.Name
				}
			}
			Expect(projected).NotTo(BeEmpty(), "the API server projects the pod's (the manager's) token")
			mounts := map[string][]string{}
			for _, c := range admitted.Spec.Containers {
				for _, m := range c.VolumeMounts {
					if m.MountPath == tokenPath || m.Name == projected {
						mounts[c.Name] = append(mounts[c.Name], m.Name+" at "+m.MountPath)
					}
				}
			}
			Expect(mounts).To(Equal(map[string][]string{
				"manager": {projected + " at " + tokenPath},
				"server":  {"server-token at " + tokenPath},
			}), "the manager's token is in the manager container only; the server reads its own")
		})

		It("lets the server create a set's page only in the set's name shape, and the manager deletes one under another path's name", func() {
			set := fmt.Sprintf(`apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPageSet
metadata: {name: guarded-set, namespace: %s}
spec:
  route: /guarded-set/{id}
  origin: {url: "%s/{id}"}
`, policyNamespace, originURL)
			out, err := runEnv(adminKube, []byte(set), kubectlBin, "apply", "-f", "-")
			Expect(err).NotTo(HaveOccurred(), out)
			DeferCleanup(func() {
				_, _ = run(kubectlBin, "delete", "staticpageset", "guarded-set", "-n", policyNamespace, "--ignore-not-found")
			})
			uid := kubectl("get", "staticpageset", "guarded-set", "-n", policyNamespace, "-o", "jsonpath={.metadata.uid}")

			// A page for /guarded-set/2 under /guarded-set/3's name: the
			// shape the policy checks, with a hash it cannot.
			squat := pagesv1alpha1.ChildName("guarded-set", "/guarded-set/3")
			child := fmt.Sprintf(`apiVersion: pages.isr-operator.io/v1alpha1
kind: StaticPage
metadata:
  name: %s
  namespace: %s
  labels: {pages.isr-operator.io/set: guarded-set, pages.isr-operator.io/created-by: request}
  ownerReferences:
  - {apiVersion: pages.isr-operator.io/v1alpha1, kind: StaticPageSet, name: guarded-set, uid: %s, controller: true}
spec:
  route: /guarded-set/2
  set: {name: guarded-set}
`, squat, policyNamespace, uid)
			out, err = runEnv(adminKube, []byte(child), kubectlBin, append(asServiceAccount(serverSA), "create", "-f", "-")...)
			Expect(err).NotTo(HaveOccurred(), out)
			Eventually(func() string {
				out, _ := run(kubectlBin, "get", "staticpage", squat, "-n", policyNamespace, "-o", "name")
				return out
			}).WithTimeout(30 * time.Second).Should(ContainSubstring("NotFound"))
			Eventually(func() string {
				return kubectl("get", "events", "-n", policyNamespace, "--field-selector", "involvedObject.name=guarded-set",
					"-o", "jsonpath={.items[*].reason}")
			}).Should(ContainSubstring(pagesv1alpha1.EventMisnamedPagesRemoved))
		})

		It("lets the manager write page ConfigMaps only", func() {
			n := 0
			Eventually(func() string {
				n++
				out, _ := kubectlAs(managerSA, "create", "configmap", fmt.Sprintf("not-a-page-%d", n), "-n", policyNamespace)
				return out
			}).Should(ContainSubstring("may write only page ConfigMaps, labelled isr-operator.io/component=page"))

			kubectl("create", "configmap", "settings", "-n", policyNamespace, "--from-literal=password=hunter2")
			out, err := kubectlAs(managerSA, "label", "configmap", "settings", "-n", policyNamespace, "isr-operator.io/component=page")
			Expect(err).To(HaveOccurred(), out)
			Expect(out).To(ContainSubstring("is not one, so updating it is refused"))
			out, err = kubectlAs(managerSA, "delete", "configmap", "settings", "-n", policyNamespace)
			Expect(err).To(HaveOccurred(), out)
			Expect(out).To(ContainSubstring("is not one, so deleting it is refused"))
			kubectl("get", "configmap", "settings", "-n", policyNamespace)
		})
	})
}
