package policy

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/revalidateapi"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

// The server's sweep of used signatures, assembled by revalidateapi.Setup as
// cmd/server assembles it, on a manager authenticated as the server's
// ServiceAccount with only the RBAC the Helm chart grants it (Leases: create,
// list and delete in the release namespace, no watch).
var _ = Describe("the server's signature sweep, with the chart's RBAC", Ordered, func() {
	const (
		chartNamespace = "isr-chart"
		chartRelease   = "isr-chart"
		secretName     = "revalidate-credentials"
	)
	serverUser := "system:serviceaccount:" + chartNamespace + ":" + chartRelease + "-server"

	BeforeAll(func() {
		Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: chartNamespace}})).To(Succeed())
		Expect(admin.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: chartNamespace, Name: secretName},
			Data:       map[string][]byte{revalidateapi.HMACKey: []byte("hmac-key")},
		})).To(Succeed())

		By("installing the server's ServiceAccount and RBAC as the chart renders them")
		objs := renderChart(chartNamespace, chartRelease,
			"--set", "revalidateAPI.enabled=true", "--set", "revalidateAPI.existingSecret="+secretName)
		installed := 0
		for _, obj := range objs {
			switch obj.GetKind() {
			case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
			default:
				continue
			}
			if obj.GetLabels()["app.kubernetes.io/component"] != "server" {
				continue
			}
			Expect(admin.Create(ctx, obj)).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
			installed++
		}
		Expect(installed).To(BeNumerically(">", 2), "the chart rendered no RBAC for the server")
	})

	It("deletes the Leases of signatures past their window, and keeps the others", func() {
		cfg := rest.CopyConfig(adminCfg)
		cfg.Impersonate = rest.ImpersonationConfig{
			UserName: serverUser,
			Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + chartNamespace, "system:authenticated"},
		}
		o := revalidateapi.DefaultOptions()
		o.BindAddress = ""
		o.Secret = chartNamespace + "/" + secretName
		o.SweepInterval = time.Second
		cacheOpts, err := o.CacheOptions(kube.ServerCacheOptions(nil))
		Expect(err).NotTo(HaveOccurred())
		mgr, err := testenv.NewManager(cfg, cacheOpts)
		Expect(err).NotTo(HaveOccurred())
		_, err = revalidateapi.Setup(ctx, mgr, o, noPages{}, nil)
		Expect(err).NotTo(HaveOccurred())
		mctx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		go func() {
			defer GinkgoRecover()
			Expect(mgr.Start(mctx)).To(Succeed())
		}()

		now := time.Now()
		lease := func(name string, renew time.Time) *coordinationv1.Lease {
			return &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: chartNamespace, Name: revalidateapi.SignatureLeasePrefix + name,
					Labels: map[string]string{revalidateapi.SignatureLabel: revalidateapi.SignatureLabelValue},
				},
				Spec: coordinationv1.LeaseSpec{RenewTime: &metav1.MicroTime{Time: renew}},
			}
		}
		expired, current := lease("expired", now.Add(-time.Minute)), lease("current", now.Add(time.Hour))
		Expect(admin.Create(ctx, expired)).To(Succeed())
		Expect(admin.Create(ctx, current)).To(Succeed())

		Eventually(func() bool {
			return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(expired), &coordinationv1.Lease{}))
		}).WithTimeout(30*time.Second).Should(BeTrue(), "the sweep did not delete the expired signature Lease")
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(current), &coordinationv1.Lease{})).To(Succeed(),
			"the sweep deleted a Lease whose signature is still in its window")
	})
})

// noPages is a route table that serves nothing: the sweep needs none.
type noPages struct{}

func (noPages) PageName(string, string) (types.NamespacedName, bool) {
	return types.NamespacedName{}, false
}
func (noPages) ServedDigest(types.NamespacedName) (string, bool) { return "", false }
