package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/isr-operator/isr-operator/internal/route"
)

// Values of --host-grants, on the manager and the server alike.
const (
	// HostGrantsRequired serves a page or set only where its host is
	// granted to its namespace by the annotation route.HostsAnnotation.
	HostGrantsRequired = "required"
	// HostGrantsOff serves every page and set whatever its namespace's
	// annotation says: for clusters with one tenant.
	HostGrantsOff = "off"
)

// HostGrantsUsage is --host-grants' help, shared by both binaries.
const HostGrantsUsage = "required: a StaticPage or StaticPageSet is rendered and served only if its host is granted to its namespace by the Namespace annotation " +
	route.HostsAnnotation + " (comma-separated host names, *.example.com, or * for any host and no host); off: every host is allowed (one tenant)."

// ValidateHostGrants says what is wrong with a --host-grants value; ""
// (options filled in code) is HostGrantsRequired.
func ValidateHostGrants(mode string) error {
	if mode != "" && mode != HostGrantsRequired && mode != HostGrantsOff {
		return fmt.Errorf("--host-grants must be %s or %s, got %q", HostGrantsRequired, HostGrantsOff, mode)
	}
	return nil
}

// NamespaceMetadata is a Namespace as its metadata alone: what the manager
// and the server watch of Namespaces (read-only, and only their metadata,
// so their cache holds no more than names, labels and annotations).
func NamespaceMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return m
}

// HostGrants tells whether a namespace may serve a host, from the
// Namespaces' annotation route.HostsAnnotation. A nil *HostGrants grants
// every host (--host-grants=off).
type HostGrants struct {
	// Reader reads Namespaces' metadata, from a cache that watches them.
	Reader client.Reader
}

// NewHostGrants returns the grants of mode (a --host-grants value, ""
// for required): nil for off.
func NewHostGrants(mode string, r client.Reader) *HostGrants {
	if mode == HostGrantsOff {
		return nil
	}
	return &HostGrants{Reader: r}
}

// Enabled is true unless every host is granted.
func (g *HostGrants) Enabled() bool { return g != nil }

// Check reports whether namespace may serve host ("" for any host), and
// when it may not, why and how to grant it. A namespace that does not
// exist (any more) grants nothing.
func (g *HostGrants) Check(ctx context.Context, namespace, host string) (ok bool, why string, err error) {
	if g == nil {
		return true, "", nil
	}
	grants, err := g.Of(ctx, namespace)
	if err != nil {
		return false, "", err
	}
	if route.HostGranted(grants, host) {
		return true, "", nil
	}
	return false, route.NotGrantedMessage(namespace, grants, host), nil
}

// Of is the value of namespace's route.HostsAnnotation, "" when it has none
// or does not exist.
func (g *HostGrants) Of(ctx context.Context, namespace string) (string, error) {
	ns := NamespaceMetadata()
	if err := g.Reader.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("reading the host grants of namespace %s: %w", namespace, err)
	}
	return ns.GetAnnotations()[route.HostsAnnotation], nil
}

// GrantsChanged lets through the updates of a Namespace that change its
// host grants. Creations are not let through (a new namespace holds no
// page yet), nor deletions (its pages go with it).
func GrantsChanged() predicate.Funcs {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			if e.ObjectOld == nil || e.ObjectNew == nil {
				return true
			}
			return e.ObjectOld.GetAnnotations()[route.HostsAnnotation] != e.ObjectNew.GetAnnotations()[route.HostsAnnotation]
		},
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}
