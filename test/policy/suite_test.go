// Package policy proves, on a real API server, what config/rbac and
// config/admission let isr-operator's two ServiceAccounts do: requests are
// sent impersonating each ServiceAccount, as its pods would send them.
package policy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

const (
	// systemNamespace is where config/ installs isr-operator.
	systemNamespace = "isr-system"
	// serverSA and managerSA are the ServiceAccounts config/rbac creates.
	serverSA  = "isr-operator-server"
	managerSA = "isr-operator-manager"
	// userNamespace holds the pages and a user's own objects.
	userNamespace = "shop"
)

var (
	testEnv *envtest.Environment
	ctx     = context.Background()
	// admin is system:masters; server and manager impersonate the
	// ServiceAccounts.
	admin, server, manager client.Client
	// adminCfg is the admin's connection, which tenants' clients
	// impersonate from.
	adminCfg *rest.Config
)

func TestPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "Policy Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var cfg *rest.Config
	var err error
	testEnv, cfg, admin, err = testenv.Start()
	Expect(err).NotTo(HaveOccurred())
	adminCfg = cfg
	for _, ns := range []string{systemNamespace, userNamespace} {
		Expect(admin.Create(ctx, testenv.Namespace(ns))).To(Succeed())
	}

	By("applying config/rbac and config/admission as kustomize lists them")
	for _, dir := range []string{"rbac", "admission"} {
		for _, obj := range kustomization(filepath.Join(testenv.Root(), "config", dir)) {
			Expect(admin.Create(ctx, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
		}
	}
	for _, sa := range []string{serverSA, managerSA} {
		Expect(admin.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: sa}, &corev1.ServiceAccount{})).
			To(Succeed(), "config/rbac creates the ServiceAccount %s", sa)
	}
	server = as(cfg, serverSA)
	manager = as(cfg, managerSA)

	By("waiting for each policy to refuse its first request")
	probe := newPage("policy-probe")
	Expect(admin.Create(ctx, probe)).To(Succeed())
	n := 0
	Eventually(func() error {
		n++
		return server.Patch(ctx, probe, mergePatch(fmt.Sprintf(`{"metadata":{"labels":{"probe":"%d"}}}`, n)))
	}).WithTimeout(30 * time.Second).Should(MatchError(ContainSubstring("may not change the labels")))
	Eventually(func() error {
		n++
		return server.Create(ctx, newPage(fmt.Sprintf("policy-probe-%d", n)))
	}).WithTimeout(30 * time.Second).Should(MatchError(ContainSubstring("may create only child pages")))
	Eventually(func() error {
		n++
		return server.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: systemNamespace, Name: fmt.Sprintf("probe-%d", n)}})
	}).WithTimeout(30 * time.Second).Should(MatchError(ContainSubstring("isr-sig-")))
	Eventually(func() error {
		n++
		return manager.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: userNamespace, Name: fmt.Sprintf("probe-%d", n)}})
	}).WithTimeout(30 * time.Second).Should(MatchError(ContainSubstring("page ConfigMaps")))
	Eventually(func() error {
		n++
		return manager.Create(ctx, newPage(fmt.Sprintf("probe-%d", n)))
	}).WithTimeout(30 * time.Second).Should(MatchError(ContainSubstring("only StaticPageSet pages")))
})

var _ = AfterSuite(func() {
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// as is a client authenticated as the ServiceAccount sa of systemNamespace,
// with the groups the API server gives a ServiceAccount token.
func as(cfg *rest.Config, sa string) client.Client {
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + systemNamespace + ":" + sa,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + systemNamespace, "system:authenticated"},
	}
	cl, err := client.New(c, client.Options{Scheme: kube.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	return cl
}

// kustomization reads the objects of every file a kustomization.yaml lists
// under resources.
func kustomization(dir string) []*unstructured.Unstructured {
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var k struct {
		Resources []string `json:"resources"`
	}
	Expect(yaml.Unmarshal(b, &k)).To(Succeed())
	Expect(k.Resources).NotTo(BeEmpty())
	var out []*unstructured.Unstructured
	for _, file := range k.Resources {
		objs, err := testenv.Manifests(filepath.Join(dir, file))
		Expect(err).NotTo(HaveOccurred())
		out = append(out, objs...)
	}
	return out
}

// newPage is a StaticPage in userNamespace with a label and an annotation
// of the user's.
func newPage(name string) *pagesv1alpha1.StaticPage {
	return &pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   userNamespace,
			Name:        name,
			Labels:      map[string]string{"shop": "products"},
			Annotations: map[string]string{"team": "web"},
		},
		Spec: pagesv1alpha1.StaticPageSpec{
			Route:  "/" + name,
			Origin: pagesv1alpha1.Origin{URL: "http://shop.shop.svc/" + name},
		},
	}
}

// newSet is a StaticPageSet in userNamespace for /products/{id}.
func newSet(name string) *pagesv1alpha1.StaticPageSet {
	return &pagesv1alpha1.StaticPageSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: userNamespace, Name: name},
		Spec: pagesv1alpha1.StaticPageSetSpec{
			Route:  "/products/{id}",
			Origin: pagesv1alpha1.Origin{URL: "http://shop.shop.svc/products/{id}"},
		},
	}
}

// mergePatch is a JSON merge patch, as kubectl annotate and label send.
func mergePatch(patch string) client.Patch {
	return client.RawPatch(types.MergePatchType, []byte(patch))
}

// refused expects err to be the API server's 403 with a message saying why.
func refused(err error, why string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the request was allowed; it should be refused: %s", why)
	Expect(apierrors.IsForbidden(err)).To(BeTrue(), "not a 403: %v", err)
	Expect(err.Error()).To(ContainSubstring(why))
}

// nameSeq numbers the objects the specs create.
var nameSeq atomic.Int32

// uniqueName gives each object its own name.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, nameSeq.Add(1))
}

// renderChart renders the Helm chart with bin/helm as release in namespace,
// fullnameOverride set to release, with the given helm flags, and parses
// what it rendered.
func renderChart(namespace, release string, flags ...string) []*unstructured.Unstructured {
	GinkgoHelper()
	args := append([]string{"template", release, filepath.Join(testenv.Root(), "charts", "isr-operator"),
		"--namespace", namespace, "--set", "fullnameOverride=" + release}, flags...)
	cmd := exec.Command(filepath.Join(testenv.Root(), "bin", "helm"), args...)
	home := GinkgoT().TempDir()
	cmd.Env = append(cmd.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "helm template (run 'make tools' first): %s", out)
	objs, err := testenv.ParseManifests("helm template", out)
	Expect(err).NotTo(HaveOccurred())
	return objs
}
