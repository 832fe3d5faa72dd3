//go:build e2e

package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/isr-operator/isr-operator/internal/testorigin"
)

// sender signs a delivery as one CMS does, with secret, for a receiver
// type: adding a type to the e2e is a signer here and an entry below.
type sender func(req *http.Request, secret, body string)

// senders are the signature schemes the e2e delivers with, by type.
var senders = map[string]sender{
	// isr: X-Isr-Signature over timestamp "." body.
	"isr": func(req *http.Request, secret, body string) {
		stamp := strconv.FormatInt(time.Now().Unix(), 10)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(stamp + "." + body))
		req.Header.Set("X-Isr-Timestamp", stamp)
		req.Header.Set("X-Isr-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	},
}

// webhookSpecs apply a Secret and a WebhookReceiver with kubectl, as a
// user would, and deliver a CMS's webhook to the server's revalidate API
// port for each sender type: the page's new content goes live, and
// `kubectl get whr` shows the delivery. They run inside the ordered user
// flow, once the server runs; apiURL is its revalidate API.
func webhookSpecs(serverURL, apiURL *string) {
	DescribeTable("re-renders a page on a CMS's own webhook, through a WebhookReceiver applied with kubectl",
		func(typ, payload string) {
			name := "hook-" + typ
			route := "/hooks/" + typ
			o := testorigin.New("<p>a page a CMS webhook re-renders</p>")
			o.SetCounting(true) // every render is new content
			DeferCleanup(o.Close)
			apply(name, route, o.URL+route, "")
			kubectl("wait", "--for=condition=Ready", "staticpage/"+name, "--timeout=60s")

			out, err := applyYAML(fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %[1]s}
stringData: {secret: e2e-%[1]s-secret}
---
apiVersion: pages.isr-operator.io/v1alpha1
kind: WebhookReceiver
metadata: {name: %[1]s}
spec:
  type: %[2]s
  secretRef: {name: %[1]s}
  rules:
    - match: "body.kind == 'page'"
      paths: "['/hooks/' + body.slug]"
`, name, typ))
			Expect(err).NotTo(HaveOccurred(), out)
			kubectl("wait", "--for=condition=Ready", "webhookreceiver/"+name, "--timeout=60s")
			path := kubectl("get", "whr", name, "-o", "jsonpath={.status.path}")
			Expect(path).To(MatchRegexp(`^/hook/[0-9a-f]{64}$`))

			var before string
			Eventually(func(g Gomega) {
				code, b, _ := page(*serverURL + route)
				g.Expect(code).To(Equal(http.StatusOK))
				before = b
			}).Should(Succeed())
			// The server's cache sees the receiver Ready shortly after the
			// manager writes it; until then a delivery is answered 404 or 503.
			hook := strings.TrimSuffix(*apiURL, "/revalidate") + path
			Eventually(func(g Gomega) {
				req, err := http.NewRequest(http.MethodPost, hook, strings.NewReader(payload))
				g.Expect(err).NotTo(HaveOccurred())
				req.Header.Set("Content-Type", "application/json")
				senders[typ](req, "e2e-"+name+"-secret", payload)
				resp, err := http.DefaultClient.Do(req)
				g.Expect(err).NotTo(HaveOccurred())
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				g.Expect(resp.StatusCode).To(Equal(http.StatusAccepted), string(b))
				g.Expect(string(b)).To(ContainSubstring(`"name":"` + name + `"`))
			}).Should(Succeed())

			Eventually(func() string { _, b, _ := page(*serverURL + route); return b }).ShouldNot(Equal(before))
			Eventually(func() string { return kubectl("get", "whr", name) }).
				Should(MatchRegexp(name + `\s+` + typ + `\s+True\s+\S+\s+Accepted\s+1\s`))
		},
		Entry("isr", "isr", `{"kind": "page", "slug": "isr"}`),
	)
}
