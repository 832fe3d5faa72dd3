package policy

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

var _ = Describe("the server's ServiceAccount and WebhookReceivers", func() {
	var whr *pagesv1alpha1.WebhookReceiver

	BeforeEach(func() {
		whr = &pagesv1alpha1.WebhookReceiver{
			ObjectMeta: metav1.ObjectMeta{Namespace: userNamespace, Name: uniqueName("whr")},
			Spec: pagesv1alpha1.WebhookReceiverSpec{
				Type:      pagesv1alpha1.WebhookBearer,
				SecretRef: pagesv1alpha1.SecretReference{Name: "cms"},
				Rules:     []pagesv1alpha1.WebhookRule{{Match: "true", Paths: "['/']"}},
			},
		}
		Expect(admin.Create(ctx, whr)).To(Succeed())
		// As the manager leaves it: Ready, with a path.
		meta.SetStatusCondition(&whr.Status.Conditions, metav1.Condition{Type: pagesv1alpha1.ReadyCondition,
			Status: metav1.ConditionTrue, Reason: pagesv1alpha1.ReasonReceiverReady, Message: "ready"})
		whr.Status.Path = "/hook/abc"
		Expect(admin.Status().Update(ctx, whr)).To(Succeed())
	})

	It("may record a delivery in status.lastDelivery and status.counters", func() {
		Expect(server.Status().Patch(ctx, whr, mergePatch(
			`{"status":{"lastDelivery":{"time":"2026-12-01T10:00:00Z","outcome":"Accepted","pagesMatched":2},"counters":{"accepted":1}}}`,
		))).To(Succeed())
		got := &pagesv1alpha1.WebhookReceiver{}
		Expect(admin.Get(ctx, client.ObjectKeyFromObject(whr), got)).To(Succeed())
		Expect(got.Status.LastDelivery.Outcome).To(Equal(pagesv1alpha1.OutcomeAccepted))
		Expect(*got.Status.Counters.Accepted).To(BeEquivalentTo(1))
	})

	DescribeTable("may change no other status field",
		func(patch, why string) {
			refused(server.Status().Patch(ctx, whr, mergePatch(patch)), why)
			got := &pagesv1alpha1.WebhookReceiver{}
			Expect(admin.Get(ctx, client.ObjectKeyFromObject(whr), got)).To(Succeed())
			Expect(got.Status.Path).To(Equal("/hook/abc"))
			Expect(meta.IsStatusConditionTrue(got.Status.Conditions, pagesv1alpha1.ReadyCondition)).To(BeTrue())
		},
		Entry("the path", `{"status":{"path":"/hook/guessable"}}`, "this request changes status.path"),
		Entry("the path, removed", `{"status":{"path":null}}`, "this request changes status.path"),
		Entry("Ready", `{"status":{"conditions":[{"type":"Ready","status":"False","reason":"InvalidRule","message":"x","lastTransitionTime":"2026-12-01T10:00:00Z"}]}}`,
			"this request changes status.conditions"),
		Entry("observedGeneration", `{"status":{"observedGeneration":7}}`, "this request changes status.observedGeneration"),
	)

	It("may not change a receiver's spec (RBAC)", func() {
		err := server.Patch(ctx, whr, mergePatch(`{"spec":{"rules":[{"match":"true","paths":"['/other']"}]}}`))
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("forbidden"))
	})
})
