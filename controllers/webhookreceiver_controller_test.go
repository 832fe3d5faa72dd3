package controllers

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/webhook"
	"github.com/isr-operator/isr-operator/internal/webhook/signature"
)

// testReceiver is a bearer receiver in the suite's namespace naming the
// Secret secret, with one valid rule unless change says otherwise.
func testReceiver(name, secret string, change func(*pagesv1alpha1.WebhookReceiver)) *pagesv1alpha1.WebhookReceiver {
	w := &pagesv1alpha1.WebhookReceiver{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name},
		Spec: pagesv1alpha1.WebhookReceiverSpec{
			Type:      pagesv1alpha1.WebhookBearer,
			SecretRef: pagesv1alpha1.SecretReference{Name: secret},
			Rules:     []pagesv1alpha1.WebhookRule{{Match: "method == 'POST'", Paths: "['/posts/' + body.slug]"}},
		},
	}
	if change != nil {
		change(w)
	}
	return w
}

// receiverSecret is a Secret in the suite's namespace.
func receiverSecret(name string, data map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: name}, StringData: data}
}

// readyOf is a receiver's Ready condition as last written for its current
// generation, nil until then.
func readyOf(g Gomega, key client.ObjectKey) (*pagesv1alpha1.WebhookReceiver, *metav1.Condition) {
	w := &pagesv1alpha1.WebhookReceiver{}
	g.Expect(k8sClient.Get(context.Background(), key, w)).To(Succeed())
	c := meta.FindStatusCondition(w.Status.Conditions, pagesv1alpha1.ReadyCondition)
	if c == nil || w.Status.ObservedGeneration != w.Generation {
		return w, nil
	}
	return w, c
}

var _ = Describe("WebhookReceiver controller", func() {
	ctx := context.Background()

	BeforeEach(func() {
		SetDefaultEventuallyTimeout(20 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	})

	It("is Ready with a path derived from its Secret, and follows the Secret as it comes, changes and goes", func() {
		name, secret := uniqueName("whr-ready"), uniqueName("whr-secret")
		w := testReceiver(name, secret, nil)
		Expect(k8sClient.Create(ctx, w)).To(Succeed())
		key := client.ObjectKeyFromObject(w)

		By("a missing Secret: SecretNotFound, no path")
		Eventually(func(g Gomega) {
			got, c := readyOf(g, key)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonSecretNotFound))
			g.Expect(got.Status.Path).To(BeEmpty())
		}).Should(Succeed())

		By("the Secret created: Ready, with the path of its value")
		s := receiverSecret(secret, map[string]string{webhook.SecretKey: "first-token\n"})
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		first := webhook.Path(signature.Secret{Value: []byte("first-token")}, testNamespace, name)
		Eventually(func(g Gomega) {
			got, c := readyOf(g, key)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonReceiverReady))
			g.Expect(got.Status.Path).To(Equal(first))
		}).Should(Succeed())
		Expect(first).To(MatchRegexp(`^/hook/[0-9a-f]{64}$`))

		By("the Secret rotated: a new path")
		s.StringData = map[string]string{webhook.SecretKey: "second-token"}
		Expect(k8sClient.Update(ctx, s)).To(Succeed())
		second := webhook.Path(signature.Secret{Value: []byte("second-token")}, testNamespace, name)
		Expect(second).NotTo(Equal(first))
		Eventually(func(g Gomega) {
			got, _ := readyOf(g, key)
			g.Expect(got.Status.Path).To(Equal(second))
		}).Should(Succeed())

		By("the Secret deleted: SecretNotFound again")
		Expect(k8sClient.Delete(ctx, s)).To(Succeed())
		Eventually(func(g Gomega) {
			got, c := readyOf(g, key)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonSecretNotFound))
			g.Expect(got.Status.Path).To(BeEmpty())
		}).Should(Succeed())
	})

	It("is SecretInvalid when the Secret lacks the keys its type needs", func() {
		secret := uniqueName("whr-secret")
		Expect(k8sClient.Create(ctx, receiverSecret(secret, map[string]string{"token": "x"}))).To(Succeed())
		bearer := testReceiver(uniqueName("whr-bearer"), secret, nil)
		basic := testReceiver(uniqueName("whr-basic"), secret, func(w *pagesv1alpha1.WebhookReceiver) {
			w.Spec.Type = pagesv1alpha1.WebhookBasic
		})
		for _, w := range []*pagesv1alpha1.WebhookReceiver{bearer, basic} {
			Expect(k8sClient.Create(ctx, w)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			_, c := readyOf(g, client.ObjectKeyFromObject(bearer))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonSecretInvalid))
			g.Expect(c.Message).To(ContainSubstring(`"secret"`))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			_, c := readyOf(g, client.ObjectKeyFromObject(basic))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonSecretInvalid))
			g.Expect(c.Message).To(ContainSubstring(`"username" and "password"`))
		}).Should(Succeed())
	})

	It("is InvalidRule, with the compiler's message, for a rule that does not compile or has the wrong type, until fixed", func() {
		secret := uniqueName("whr-secret")
		Expect(k8sClient.Create(ctx, receiverSecret(secret, map[string]string{webhook.SecretKey: "t"}))).To(Succeed())
		syntax := testReceiver(uniqueName("whr-syntax"), secret, func(w *pagesv1alpha1.WebhookReceiver) {
			w.Spec.Rules[0].Match = "body.slug =="
		})
		wrongType := testReceiver(uniqueName("whr-type"), secret, func(w *pagesv1alpha1.WebhookReceiver) {
			w.Spec.Rules = append(w.Spec.Rules, pagesv1alpha1.WebhookRule{Match: "true", Tags: "size(headers)"})
		})
		for _, w := range []*pagesv1alpha1.WebhookReceiver{syntax, wrongType} {
			Expect(k8sClient.Create(ctx, w)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			_, c := readyOf(g, client.ObjectKeyFromObject(syntax))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonInvalidRule))
			g.Expect(c.Message).To(ContainSubstring("rules[0].match"))
			g.Expect(c.Message).To(ContainSubstring("Syntax error"))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			_, c := readyOf(g, client.ObjectKeyFromObject(wrongType))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonInvalidRule))
			g.Expect(c.Message).To(ContainSubstring("rules[1].tags: the expression is of type int; want list(string)"))
		}).Should(Succeed())

		By("the rule fixed: Ready")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(syntax), syntax)).To(Succeed())
		syntax.Spec.Rules[0].Match = "body.slug == 'x'"
		Expect(k8sClient.Update(ctx, syntax)).To(Succeed())
		Eventually(func(g Gomega) {
			_, c := readyOf(g, client.ObjectKeyFromObject(syntax))
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(pagesv1alpha1.ReasonReceiverReady))
		}).Should(Succeed())
	})

	It("is refused at apply without a target in a rule, or without rules, and defaults window and delay", func() {
		noTarget := testReceiver(uniqueName("whr-notarget"), "s", func(w *pagesv1alpha1.WebhookReceiver) {
			w.Spec.Rules = []pagesv1alpha1.WebhookRule{{Match: "true"}}
		})
		Expect(k8sClient.Create(ctx, noTarget)).To(MatchError(ContainSubstring("a rule needs at least one of paths, tags and selector")))
		noRules := testReceiver(uniqueName("whr-norules"), "s", func(w *pagesv1alpha1.WebhookReceiver) { w.Spec.Rules = nil })
		Expect(k8sClient.Create(ctx, noRules)).To(MatchError(ContainSubstring("spec.rules")))
		badType := testReceiver(uniqueName("whr-badtype"), "s", func(w *pagesv1alpha1.WebhookReceiver) { w.Spec.Type = "gitlab" })
		Expect(k8sClient.Create(ctx, badType)).To(MatchError(ContainSubstring("spec.type")))
		longDelay := testReceiver(uniqueName("whr-delay"), "s", func(w *pagesv1alpha1.WebhookReceiver) {
			w.Spec.Delay = &metav1.Duration{Duration: 31 * time.Second}
		})
		Expect(k8sClient.Create(ctx, longDelay)).To(MatchError(ContainSubstring("delay must be a duration from 0s to 30s")))

		w := testReceiver(uniqueName("whr-defaults"), "s", nil)
		Expect(k8sClient.Create(ctx, w)).To(Succeed())
		Expect(w.Spec.Window).NotTo(BeNil())
		Expect(w.Spec.Window.Duration.String()).To(Equal("5m0s"))
		Expect(w.Spec.Delay).NotTo(BeNil())
		Expect(w.Spec.Delay.Duration).To(BeZero())
	})
})
