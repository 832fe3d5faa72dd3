package webhook_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/webhook"
	"github.com/isr-operator/isr-operator/internal/webhook/signature"
)

// credentials are a receiver's Secret data and the signature.Secret a
// sender signs with, for typ; other gives different ones of the same form.
func credentials(typ signature.Type, other bool) (map[string]string, signature.Secret) {
	word := "the-cms-secret"
	if other {
		word = "another-secret"
	}
	switch typ {
	case signature.Basic:
		return map[string]string{webhook.UsernameKey: "cms", webhook.PasswordKey: word},
			signature.Secret{Username: []byte("cms"), Password: []byte(word)}
	case signature.StandardWebhooks:
		v := "whsec_" + base64.StdEncoding.EncodeToString([]byte(word+"-0123456789abcdef"))
		return map[string]string{webhook.SecretKey: v}, signature.Secret{Value: []byte(v)}
	}
	return map[string]string{webhook.SecretKey: word}, signature.Secret{Value: []byte(word)}
}

// signed is a delivery of body to path, signed as typ's sender signs at
// now with s.
func signed(typ signature.Type, s signature.Secret, path, body string, now time.Time) delivery {
	GinkgoHelper()
	h, err := signature.Sign(typ, s, signature.Delivery{
		Method: http.MethodPost, Path: path,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body),
	}, now)
	Expect(err).NotTo(HaveOccurred())
	d := delivery{path: path, body: body, headers: map[string]string{}}
	for k := range h {
		d.headers[k] = h.Get(k)
	}
	return d
}

var _ = Describe("WebhookReceiver deliveries of every type", func() {
	ctx := context.Background()

	BeforeEach(func() {
		SetDefaultEventuallyTimeout(20 * time.Second)
		SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
		SetDefaultConsistentlyDuration(500 * time.Millisecond)
	})

	// Each type: a delivery signed as its sender signs is accepted and
	// revalidates the page; one signed with another secret, one with its
	// body changed by a byte (for schemes that sign the body), one signed
	// an hour ago (for schemes that sign a time) are refused 401; the
	// accepted delivery sent again is 409 (for schemes whose deliveries
	// differ). Nothing refused revalidates anything.
	for _, typ := range signature.Types {
		signsBody := typ != signature.Bearer && typ != signature.Basic
		timestamped := signsBody && typ != signature.Storyblok && typ != signature.GitHub
		It("verifies "+string(typ)+" deliveries as its sender signs them", func() {
			slug := "typed-" + string(typ)
			p, _ := page(ns, "/posts/"+slug, nil)
			data, good := credentials(typ, false)
			_, wrong := credentials(typ, true)
			n := name("whr")
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n}, StringData: data}
			Expect(k8sClient.Create(ctx, s)).To(Succeed())
			w := &pagesv1alpha1.WebhookReceiver{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n},
				Spec: pagesv1alpha1.WebhookReceiverSpec{
					Type: pagesv1alpha1.WebhookType(typ), SecretRef: pagesv1alpha1.SecretReference{Name: n},
					Rules: []pagesv1alpha1.WebhookRule{{Match: "true", Paths: "['/posts/' + body.slug]"}},
				},
			}
			Expect(k8sClient.Create(ctx, w)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, w); _ = k8sClient.Delete(ctx, s) })
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(w), w)).To(Succeed())
				g.Expect(w.Status.Path).NotTo(BeEmpty())
			}).Should(Succeed())
			body := `{"slug":"` + slug + `"}`

			By("another secret")
			var r reply
			Eventually(func() int {
				r = signed(typ, wrong, w.Status.Path, body, time.Now()).post()
				return r.code
			}).Should(Equal(http.StatusUnauthorized), "the server has the receiver once it refuses as such")
			Expect(r.body).To(ContainSubstring(`"outcome":"Unauthorized"`))
			if signsBody {
				By("the body changed by one byte")
				d := signed(typ, good, w.Status.Path, body, time.Now())
				d.body = strings.Replace(body, "typed", "typee", 1)
				Expect(d.post().code).To(Equal(http.StatusUnauthorized))
			}
			if timestamped {
				By("signed an hour ago")
				r = signed(typ, good, w.Status.Path, body, time.Now().Add(-time.Hour)).post()
				Expect(r.code).To(Equal(http.StatusUnauthorized), r.body)
				Expect(r.body).To(ContainSubstring(`"outcome":"Stale"`))
			}
			Consistently(revalidation(p)).Should(BeEmpty())

			By("signed as the sender signs")
			d := signed(typ, good, w.Status.Path, body, time.Now())
			r = d.post()
			Expect(r.code).To(Equal(http.StatusAccepted), r.body)
			Eventually(revalidation(p)).ShouldNot(BeEmpty())
			token := revalidation(p)(Default)
			if signsBody {
				By("the same delivery again")
				r = d.post()
				Expect(r.code).To(Equal(http.StatusConflict), r.body)
				Expect(r.body).To(ContainSubstring(`"outcome":"Replayed"`))
				Consistently(revalidation(p)).Should(Equal(token))
			}
		})
	}
})
