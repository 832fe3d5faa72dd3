package webhook

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/isr-operator/isr-operator/internal/testenv"
	"github.com/isr-operator/isr-operator/internal/webhook/signature"
)

// spec.type's enum in the CRD is every type the verifiers know, in order.
func TestTypeEnumIsSignatureTypes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "config", "crd", "bases", "pages.isr-operator.io_webhookreceivers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatal(err)
	}
	var enum []string
	for _, v := range crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["type"].Enum {
		var s string
		if err := yaml.Unmarshal(v.Raw, &s); err != nil {
			t.Fatal(err)
		}
		enum = append(enum, s)
	}
	var want []string
	for _, typ := range signature.Types {
		want = append(want, string(typ))
	}
	if !slices.Equal(enum, want) {
		t.Errorf("spec.type enum = %v, want signature.Types %v", enum, want)
	}
}
