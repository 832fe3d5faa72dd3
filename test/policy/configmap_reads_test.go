package policy

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/isr-operator/isr-operator/internal/kube"
)

// What the server may read of ConfigMaps with the RBAC the chart renders in
// ConfigMap mode with watchNamespaces: the watched namespaces' only, never
// cluster-wide.
var _ = Describe("the server's ConfigMap reads, with the chart's RBAC and watchNamespaces", Ordered, func() {
	const (
		release = "isr-scoped"
		watched = "scoped-shop"
		other   = "scoped-other"
	)
	var asServer client.Client

	BeforeAll(func() {
		for _, ns := range []string{release, watched, other} {
			Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
			Expect(admin.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings"}})).To(Succeed())
		}
		for _, obj := range renderChart(release, release, "--set", "watchNamespaces={"+watched+"}") {
			switch obj.GetKind() {
			case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
				if obj.GetLabels()["app.kubernetes.io/component"] == "server" {
					Expect(admin.Create(ctx, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
				}
			}
		}
		cfg := rest.CopyConfig(adminCfg)
		cfg.Impersonate = rest.ImpersonationConfig{
			UserName: "system:serviceaccount:" + release + ":" + release + "-server",
			Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + release, "system:authenticated"},
		}
		var err error
		asServer, err = client.New(cfg, client.Options{Scheme: kube.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		By("waiting for the RBAC")
		Eventually(func() error {
			return asServer.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(watched))
		}).Should(Succeed())
	})

	It("reads ConfigMaps of the watched namespaces and of no other", func() {
		Expect(asServer.Get(ctx, client.ObjectKey{Namespace: watched, Name: "settings"}, &corev1.ConfigMap{})).To(Succeed())
		for _, ns := range []string{other, release} {
			err := asServer.Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings"}, &corev1.ConfigMap{})
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "reading a ConfigMap of %s: %v", ns, err)
			err = asServer.List(ctx, &corev1.ConfigMapList{}, client.InNamespace(ns))
			Expect(apierrors.IsForbidden(err)).To(BeTrue(), "listing the ConfigMaps of %s: %v", ns, err)
		}
		err := asServer.List(ctx, &corev1.ConfigMapList{})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "listing ConfigMaps cluster-wide: %v", err)
	})
})
