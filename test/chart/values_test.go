// Package chart checks that the Helm chart's values are documented: a
// comment on every key in values.yaml and a row for every value in the
// chart's README.
package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const chartDir = "../../charts/isr-operator"

// freeForm values are Kubernetes objects passed through as they are; their
// inner keys are Kubernetes' own, documented there.
var freeForm = map[string]bool{
	"manager.resources": true, "server.resources": true,
	"podSecurityContext": true, "securityContext": true,
}

// value is one documented key of values.yaml.
type value struct {
	path    string
	comment string
}

// walk lists the keys of a mapping node, descending into non-empty maps
// that are not free-form.
func walk(n *yaml.Node, prefix string, out *[]value) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		*out = append(*out, value{path: path, comment: k.HeadComment})
		if v.Kind == yaml.MappingNode && len(v.Content) > 0 && !freeForm[path] {
			walk(v, path, out)
		}
	}
}

func values(t *testing.T) []value {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	var out []value
	walk(doc.Content[0], "", &out)
	if len(out) < 40 {
		t.Fatalf("found only %d keys in values.yaml; the walk is broken", len(out))
	}
	return out
}

func TestEveryValueHasAComment(t *testing.T) {
	for _, v := range values(t) {
		if strings.TrimSpace(strings.TrimLeft(v.comment, "# -")) == "" {
			t.Errorf("values.yaml: %s has no comment above it", v.path)
		}
	}
}

func TestEveryValueIsInTheChartREADME(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, v := range values(t) {
		if !strings.Contains(readme, "| `"+v.path+"` |") {
			t.Errorf("charts/isr-operator/README.md has no row for %s", v.path)
		}
	}
}
