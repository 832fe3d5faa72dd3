// Package v1alpha1 contains the StaticPage API of group pages.isr-operator.io.
// +kubebuilder:object:generate=true
// +groupName=pages.isr-operator.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "pages.isr-operator.io", Version: "v1alpha1"}

	// SchemeBuilder registers this package's kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this package's kinds to a scheme, for clients and managers.
	AddToScheme = SchemeBuilder.AddToScheme
)
