package webhook

import (
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ParseSecretRef reads --revalidate-secret: "namespace/name", or a bare name
// in the pod's namespace (the POD_NAMESPACE environment variable).
func ParseSecretRef(v string) (types.NamespacedName, error) {
	ns, name, found := strings.Cut(v, "/")
	if !found {
		ns, name = os.Getenv("POD_NAMESPACE"), v
		if ns == "" {
			return types.NamespacedName{}, fmt.Errorf("secret %q has no namespace: write namespace/name or set POD_NAMESPACE", v)
		}
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return types.NamespacedName{}, fmt.Errorf("secret namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return types.NamespacedName{}, fmt.Errorf("secret name %q: %s", name, strings.Join(errs, "; "))
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

// WatchSecret adds the credentials Secret, and no other Secret, to a cache's
// options: the server may then be granted that one Secret by name, and a
// rotated Secret reaches it without a restart.
func WatchSecret(opts cache.Options, secret types.NamespacedName) cache.Options {
	if opts.ByObject == nil {
		opts.ByObject = map[client.Object]cache.ByObject{}
	}
	opts.ByObject[&corev1.Secret{}] = cache.ByObject{
		Namespaces: map[string]cache.Config{
			secret.Namespace: {FieldSelector: fields.OneTermEqualSelector("metadata.name", secret.Name)},
		},
	}
	return opts
}
