package webhook_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/webhook"
	"github.com/isr-operator/isr-operator/internal/webhook/signature"
)

// yamlBlock is a fenced YAML block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

var _ = Describe("docs/webhooks.md", func() {
	It("has a WebhookReceiver of every type, each one the API server accepts, with rules that compile", func() {
		b, err := os.ReadFile(filepath.Join(testenv.Root(), "docs", "webhooks.md"))
		Expect(err).NotTo(HaveOccurred())
		var typed []signature.Type
		for _, block := range yamlBlock.FindAllSubmatch(b, -1) {
			for doc := range bytes.SplitSeq(block[1], []byte("\n---\n")) {
				var meta struct{ Kind string }
				if err := yaml.Unmarshal(doc, &meta); err != nil || meta.Kind != "WebhookReceiver" {
					continue
				}
				// Strictly: a misspelt field is an error, not dropped.
				var whr pagesv1alpha1.WebhookReceiver
				Expect(yaml.UnmarshalStrict(doc, &whr)).To(Succeed(), string(doc))
				_, err := webhook.Compile(whr.Spec.Rules)
				Expect(err).NotTo(HaveOccurred(), "rules of WebhookReceiver %s", whr.Name)
				// The schema's own checks, as kubectl apply would meet them.
				whr.Namespace = ns
				Expect(k8sClient.Create(context.Background(), &whr, client.DryRunAll)).To(Succeed(), "WebhookReceiver %s", whr.Name)
				typed = append(typed, signature.Type(whr.Spec.Type))
			}
		}
		for _, typ := range signature.Types {
			Expect(typed).To(ContainElement(typ), "no example of type %s", typ)
		}
		Expect(slices.Compact(slices.Sorted(slices.Values(typed)))).To(HaveLen(len(signature.Types)))
	})
})
