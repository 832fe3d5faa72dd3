// Package v1alpha1 contains the StaticPage and StaticPageSet API of group
// pages.isr-operator.io.
// +kubebuilder:object:generate=true
// +groupName=pages.isr-operator.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the API group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "pages.isr-operator.io", Version: "v1alpha1"}

	// SchemeBuilder registers this package's kinds with a runtime.Scheme.
	SchemeBuilder = &Builder{}

	// AddToScheme adds this package's kinds to a scheme, for clients and managers.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Builder collects this package's kinds for a runtime.Scheme, as
// controller-runtime's deprecated scheme.Builder does, with apimachinery only
// so that importing the API pulls in no controller code.
// +kubebuilder:object:generate=false
type Builder runtime.SchemeBuilder

// Register adds kinds to GroupVersion; each types file calls it from init.
func (b *Builder) Register(objects ...runtime.Object) {
	(*runtime.SchemeBuilder)(b).Register(func(s *runtime.Scheme) error {
		s.AddKnownTypes(GroupVersion, objects...)
		metav1.AddToGroupVersion(s, GroupVersion)
		return nil
	})
}

// AddToScheme adds every registered kind to s.
func (b *Builder) AddToScheme(s *runtime.Scheme) error {
	return (*runtime.SchemeBuilder)(b).AddToScheme(s)
}
