package server_test

import (
	"context"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/testorigin"
)

var _ = Describe("a page ConfigMap whose body does not match the page's digest", func() {
	ctx := context.Background()

	It("is served by no replica that loads it, and is counted as corrupt", func() {
		origin := testorigin.New("<h1>the real page</h1>")
		name, prefix := unique()
		page := &pagesv1alpha1.StaticPage{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: pagesv1alpha1.StaticPageSpec{
				Route: prefix + "/home", Host: "shop.example",
				Origin: pagesv1alpha1.Origin{URL: origin.URL + "/home"},
			},
		}
		Expect(k8sClient.Create(ctx, page)).To(Succeed())
		for _, r := range replicas {
			Eventually(func() string { return get(r, prefix+"/home").Body.String() }).Should(Equal("<h1>the real page</h1>"))
		}

		By("rewriting the ConfigMap's body, as anyone who may write ConfigMaps in the namespace can, keeping its digest annotation")
		cm := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: storage.ConfigMapName(page)}, cm)).To(Succeed())
		forged, err := storage.Compress([]byte("<h1>the real page</h1><script>steal()</script>"))
		Expect(err).NotTo(HaveOccurred())
		cm.BinaryData[storage.BodyKey] = forged
		Expect(k8sClient.Update(ctx, cm)).To(Succeed())
		before := corruptLoads()

		By("starting a replica that loads the page from its ConfigMap on request")
		rctx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		fresh := startReplica(rctx, serverOptions())
		Eventually(func() error { return fresh.Sync.Ready(nil) }).Should(Succeed())
		w := get(fresh, prefix+"/home")
		Expect(w.Code).To(Equal(http.StatusServiceUnavailable), "the new replica served the forged body: %s", w.Body)
		Expect(w.Header().Get("Cache-Control")).To(Equal("no-store"), "a CDN must not keep the refusal")
		Expect(w.Body.String()).NotTo(ContainSubstring("steal()"))
		Expect(corruptLoads()).To(BeNumerically(">", before))

		By("the replicas that hold the page keep serving what they checked")
		for _, r := range replicas {
			Expect(get(r, prefix+"/home").Body.String()).To(Equal("<h1>the real page</h1>"))
		}
	})
})

// corruptLoads is isr_storage_errors_total{operation="get",reason="corrupt"}.
func corruptLoads() float64 {
	GinkgoHelper()
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "isr_storage_errors_total" {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want := map[string]string{"operation": storage.OpGet, "reason": "corrupt"}[l.GetName()]; want != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
