package controllers

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/purge"
	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/testenv"
)

var _ = Describe("A CDN's hosts", func() {
	It("are cut to the hosts granted to its namespace: a tenant's CDN never purges another's host", func() {
		ctx := context.Background()
		ns := testenv.Namespace(uniqueName("cdn-grants"))
		ns.Annotations[route.HostsAnnotation] = "shop.example.com,*.shop.example.com"
		Expect(k8sClient.Create(ctx, ns)).To(Succeed())
		cdn := &pagesv1alpha1.CDN{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "edge"},
			Spec: pagesv1alpha1.CDNSpec{
				Provider: pagesv1alpha1.ProviderVarnish,
				PurgeBy:  pagesv1alpha1.PurgeByURLs,
				Hosts:    []string{"shop.example.com", "eu.shop.example.com", "bank.example.com"},
			},
		}
		// A page for any host (granted by no one here, but the plan is
		// what is checked) is purged on each host the CDN keeps.
		anyHost := purge.Change{Namespace: ns.Name, Name: "home", Route: "/"}

		p := &Purger{Client: k8sClient, Grants: kube.NewHostGrants(kube.HostGrantsRequired, k8sClient)}
		got, err := p.grantedHosts(ctx, cdn)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Spec.Hosts).To(Equal([]string{"shop.example.com", "eu.shop.example.com"}))
		Expect(purge.PlanFor(got, []purge.Change{anyHost}).URLs).To(ConsistOf(
			purge.HostPath{Host: "shop.example.com", Path: "/"}, purge.HostPath{Host: "eu.shop.example.com", Path: "/"}))
		Expect(cdn.Spec.Hosts).To(HaveLen(3), "the CDN read is not changed")

		By("a CDN naming only hosts not granted purges nothing, rather than every host")
		cdn.Spec.Hosts = []string{"bank.example.com"}
		got, err = p.grantedHosts(ctx, cdn)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(BeNil())

		By("with --host-grants=off, every host stays")
		p.Grants = kube.NewHostGrants(kube.HostGrantsOff, k8sClient)
		got, err = p.grantedHosts(ctx, cdn)
		Expect(err).NotTo(HaveOccurred())
		Expect(got.Spec.Hosts).To(Equal([]string{"bank.example.com"}))
	})
})
