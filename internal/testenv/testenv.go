// Package testenv starts the real kube-apiserver and etcd that every envtest
// suite runs against, with the project's CRDs installed, the same way for
// all of them.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/route"
)

// Root is the repository root, found from this file's place in it, so
// that suites in any package find bin/ and config/.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts a control plane with the CRDs of config/crd/bases. Without
// KUBEBUILDER_ASSETS (`go test` by hand after `make tools`) it uses bin/k8s.
// The caller stops the returned environment.
func Start() (*envtest.Environment, *rest.Config, client.Client, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if err := os.Setenv("KUBEBUILDER_ASSETS", filepath.Join(Root(), "bin", "k8s")); err != nil {
			return nil, nil, nil, err
		}
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(Root(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("starting the control plane (run 'make tools' first): %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: kube.Scheme()})
	if err != nil {
		_ = env.Stop()
		return nil, nil, nil, fmt.Errorf("creating an admin client: %w", err)
	}
	return env, cfg, c, nil
}

// StartT is Start for one test: skipped under -short, fatal when the
// control plane does not start, and stopped when the test ends.
func StartT(t testing.TB) (*rest.Config, client.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a kube-apiserver")
	}
	env, cfg, c, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	return cfg, c
}

// Namespace is a namespace granted every host (the annotation
// isr-operator.io/hosts=*), as a single-tenant cluster's admin grants it:
// what the suites create their pages in, unless they test host grants.
func Namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Annotations: map[string]string{route.HostsAnnotation: route.AnyHost},
	}}
}
