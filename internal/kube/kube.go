// Package kube holds the Kubernetes wiring the manager and the server share.
package kube

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/storage"
)

// Scheme knows the core kinds and StaticPage.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := pagesv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// CacheOptions watches StaticPages in the given namespaces (all when empty)
// and, of ConfigMaps, only page ConfigMaps: the rest of the cluster's
// ConfigMaps never reach memory.
func CacheOptions(namespaces []string) cache.Options {
	opts := cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Label: labels.SelectorFromSet(labels.Set{storage.ComponentLabel: storage.ComponentPage})},
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// SplitNamespaces parses a --namespaces value: comma-separated names, empty
// for all namespaces.
func SplitNamespaces(v string) ([]string, error) {
	var out []string
	for _, ns := range strings.Split(v, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			continue
		}
		if strings.ContainsAny(ns, " /") {
			return nil, fmt.Errorf("invalid namespace %q in --namespaces", ns)
		}
		out = append(out, ns)
	}
	return out, nil
}
