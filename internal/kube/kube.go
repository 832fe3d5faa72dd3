// Package kube holds small Kubernetes helpers the manager and the server
// share: the scheme, cache options and the transforms that slim cached
// objects, the annotation patches, and runnables for every replica.
package kube

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
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
// ConfigMaps never reach memory. Every cached object goes through
// StripUnread.
func CacheOptions(namespaces []string) cache.Options {
	opts := cache.Options{
		DefaultTransform: StripUnread,
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

// ServerCacheOptions is CacheOptions for the server, which caches only the
// metadata of page ConfigMaps (their bodies are read uncached, when a page
// is loaded) and passes StaticPages through SlimServerPage.
func ServerCacheOptions(namespaces []string) cache.Options {
	opts := CacheOptions(namespaces)
	opts.ByObject[&pagesv1alpha1.StaticPage{}] = cache.ByObject{Transform: SlimServerPage}
	return opts
}

// LastAppliedAnnotation is where `kubectl apply` keeps a whole copy of the
// object as last applied.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// StripUnread is a cache transform dropping what neither the manager nor
// the server reads, before an object is stored: managedFields (often the
// largest part of a small object's metadata) and the last-applied
// annotation (a second copy of the object, and of a Secret's data). Updates
// built from a stripped object keep the server's managedFields (an omitted
// field is left as it is), but would drop the annotation: objects that users
// apply, such as StaticPages, are only ever patched.
func StripUnread(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		// Not an object (a tombstone, say): nothing to strip.
		return in, nil
	}
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	if a := obj.GetAnnotations(); a != nil {
		if _, ok := a[LastAppliedAnnotation]; ok {
			delete(a, LastAppliedAnnotation)
			obj.SetAnnotations(a)
		}
	}
	return in, nil
}
