package webhook

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/webhook/signature"
)

// yamlBlock is a fenced YAML block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```")

// TestDocsReceiversAreValid decodes every WebhookReceiver of
// docs/webhooks.md strictly (a misspelt field fails) and compiles its
// rules, so that no example a user copies is refused; and checks that
// every type has an example.
func TestDocsReceiversAreValid(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	var typed []signature.Type
	for _, block := range yamlBlock.FindAllSubmatch(b, -1) {
		for doc := range bytes.SplitSeq(block[1], []byte("\n---\n")) {
			var meta struct{ Kind string }
			if err := yaml.Unmarshal(doc, &meta); err != nil || meta.Kind != "WebhookReceiver" {
				continue
			}
			var whr pagesv1alpha1.WebhookReceiver
			if err := yaml.UnmarshalStrict(doc, &whr); err != nil {
				t.Errorf("a WebhookReceiver of docs/webhooks.md does not decode: %v\n%s", err, doc)
				continue
			}
			if _, err := Compile(whr.Spec.Rules); err != nil {
				t.Errorf("WebhookReceiver %s of docs/webhooks.md: %v", whr.Name, err)
			}
			if len(whr.Spec.Rules) == 0 {
				t.Errorf("WebhookReceiver %s of docs/webhooks.md has no rules", whr.Name)
			}
			typed = append(typed, signature.Type(whr.Spec.Type))
		}
	}
	for _, typ := range signature.Types {
		if !slices.Contains(typed, typ) {
			t.Errorf("docs/webhooks.md has no WebhookReceiver of type %s", typ)
		}
	}
}
