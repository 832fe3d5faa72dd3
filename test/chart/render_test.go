package chart

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// release and namespace are the chart's install in these tests, so that
// FULLNAME is "isr-isr-operator".
const (
	release   = "isr"
	namespace = "isr-system"
	fullname  = "isr-isr-operator"
)

// object is one rendered manifest.
type object map[string]any

// manifests is what `helm template` rendered.
type manifests []object

// helmTemplate renders the chart with bin/helm, as `helm install` would with
// the given --set values (or flags of helm's, starting with --), and
// returns its output and error.
func helmTemplate(t *testing.T, ns string, sets ...string) (string, error) {
	t.Helper()
	helm, err := filepath.Abs(filepath.Join("..", "..", "bin", "helm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("%v: run 'make tools' first", err)
	}
	args := []string{"template", release, chartDir, "--namespace", ns}
	for _, s := range sets {
		if strings.HasPrefix(s, "--") {
			// A flag of helm's own, such as --api-versions.
			args = append(args, s)
			continue
		}
		args = append(args, "--set", s)
	}
	cmd := exec.Command(helm, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// render renders the chart in the namespace isr-system and parses it.
func render(t *testing.T, sets ...string) manifests {
	t.Helper()
	return renderIn(t, namespace, sets...)
}

func renderIn(t *testing.T, ns string, sets ...string) manifests {
	t.Helper()
	out, err := helmTemplate(t, ns, sets...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", sets, err, out)
	}
	var ms manifests
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm template %v: parsing its output: %v", sets, err)
		}
		if o != nil {
			ms = append(ms, object(o))
		}
	}
	return ms
}

// all returns the manifests of a kind.
func (ms manifests) all(kind string) []object {
	var out []object
	for _, o := range ms {
		if o["kind"] == kind {
			out = append(out, o)
		}
	}
	return out
}

// find returns the manifest of a kind and name, or nil.
func (ms manifests) find(kind, name string) object {
	for _, o := range ms.all(kind) {
		if o.str("metadata", "name") == name {
			return o
		}
	}
	return nil
}

// get returns the manifest of a kind and name, failing the test without it.
func (ms manifests) get(t *testing.T, kind, name string) object {
	t.Helper()
	o := ms.find(kind, name)
	if o == nil {
		var names []string
		for _, o := range ms.all(kind) {
			names = append(names, o.str("metadata", "name"))
		}
		t.Fatalf("no %s %s rendered (%s: %v)", kind, name, kind, names)
	}
	return o
}

// at walks a path of map keys and list indexes (ints) from v.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if o, isObject := v.(object); isObject {
				m, ok = o, true
			}
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func (o object) at(path ...any) any { return at(map[string]any(o), path...) }

func (o object) str(path ...any) string {
	s, _ := o.at(path...).(string)
	return s
}

func (o object) list(path ...any) []any {
	l, _ := o.at(path...).([]any)
	return l
}

// podSpec is a Deployment's pod template spec.
func (o object) podSpec() object {
	m, _ := o.at("spec", "template", "spec").(map[string]any)
	return object(m)
}

// container returns a pod spec's container by name, or nil.
func (o object) container(name string) object {
	for _, c := range o.list("containers") {
		if m, ok := c.(map[string]any); ok && m["name"] == name {
			return object(m)
		}
	}
	return nil
}

// containerNames lists a pod spec's containers.
func (o object) containerNames() []string {
	var out []string
	for _, c := range o.list("containers") {
		out = append(out, at(c, "name").(string))
	}
	return out
}
