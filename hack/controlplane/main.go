// Command controlplane runs a local Kubernetes control plane (etcd and
// kube-apiserver from KUBEBUILDER_ASSETS, RBAC on) with the StaticPage CRD
// installed, writes an admin kubeconfig, and runs until interrupted. It is
// what `make demo` runs the operator against.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	kubeconfig := flag.String("write-kubeconfig", ".demo/kubeconfig", "Where to write the admin kubeconfig.")
	crds := flag.String("crds", "config/crd/bases", "Directory of CRDs to install.")
	flag.Parse()
	if err := run(*kubeconfig, *crds); err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, crds string) error {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return fmt.Errorf("KUBEBUILDER_ASSETS must name the directory holding kube-apiserver and etcd (run 'make tools')")
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{crds}, ErrorIfCRDPathMissing: true}
	if _, err := env.Start(); err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() { _ = env.Stop() }()

	admin, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("creating the admin user: %w", err)
	}
	cfg, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(kubeconfig), 0o755); err != nil {
		return err
	}
	tmp := kubeconfig + ".tmp"
	if err := os.WriteFile(tmp, cfg, 0o600); err != nil {
		return err
	}
	// Appears whole, so a script waiting for it never reads half a file.
	if err := os.Rename(tmp, kubeconfig); err != nil {
		return err
	}
	fmt.Printf("control plane up at %s; kubeconfig %s\n", env.Config.Host, kubeconfig)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = os.Remove(kubeconfig)
	return nil
}
