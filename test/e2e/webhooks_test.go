//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/isr-operator/isr-operator/internal/testorigin"
	"github.com/isr-operator/isr-operator/internal/webhook/signature"
)

// delivery is one CMS's webhook as the e2e sends it: the rule that maps
// its payload to the page, the headers the CMS sends besides its
// signature, and the payload, whose slug is the receiver type. The
// signature is signature.Sign's, which signs as each sender documents:
// adding a type to the e2e is an entry below.
type delivery struct {
	match, paths string
	header       map[string]string
	payload      string
}

// webhookSpecs apply a Secret and a WebhookReceiver with kubectl, as a
// user would, and deliver a CMS's webhook to the server's revalidate API
// port for each sender type: the page's new content goes live, and
// `kubectl get whr` shows the delivery. They run inside the ordered user
// flow, once the server runs; apiURL is its revalidate API.
func webhookSpecs(serverURL, apiURL *string) {
	DescribeTable("re-renders a page on a CMS's own webhook, through a WebhookReceiver applied with kubectl",
		func(typ string, d delivery) {
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
    - match: %[3]q
      paths: %[4]q
`, name, typ, d.match, d.paths))
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
				req, err := http.NewRequest(http.MethodPost, hook, strings.NewReader(d.payload))
				g.Expect(err).NotTo(HaveOccurred())
				req.Header.Set("Content-Type", "application/json")
				for k, v := range d.header {
					req.Header.Set(k, v)
				}
				signed, err := signature.Sign(signature.Type(typ), signature.Secret{Value: []byte("e2e-" + name + "-secret")},
					signature.Delivery{Method: req.Method, Path: req.URL.Path, Header: req.Header, Body: []byte(d.payload)}, time.Now())
				g.Expect(err).NotTo(HaveOccurred())
				req.Header = signed
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
		Entry("isr", "isr", delivery{
			match: "body.kind == 'page'", paths: "['/hooks/' + body.slug]",
			payload: `{"kind": "page", "slug": "isr"}`,
		}),
		// Sanity's document projection, as a GROQ-powered webhook sends it.
		Entry("sanity", "sanity", delivery{
			match: "body._type == 'page'", paths: "['/hooks/' + body.slug.current]",
			payload: `{"_id": "page-1", "_type": "page", "slug": {"_type": "slug", "current": "sanity"}}`,
		}),
		// A Contentful entry publish: the topic header, slugs per locale.
		Entry("contentful", "contentful", delivery{
			match:   "headers['x-contentful-topic'].endsWith('.publish')",
			paths:   "body.fields.slug.map(l, '/hooks/' + body.fields.slug[l])",
			header:  map[string]string{"X-Contentful-Topic": "ContentManagement.Entry.publish"},
			payload: `{"sys": {"type": "Entry", "id": "5KsDBWseXY6QegucYAoacS"}, "fields": {"slug": {"en-US": "contentful"}}}`,
		}),
	)
}
