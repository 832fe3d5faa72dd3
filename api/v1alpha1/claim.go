package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RouteClaim records when a StaticPage or StaticPageSet claimed its host and
// route, as the manager first saw them in its spec: claims on one host and
// route are ordered by since, so an object whose host or route is changed
// claims anew, behind every object that held them before.
type RouteClaim struct {
	// host is the spec.host claimed, unset for any host.
	// +optional
	// +kubebuilder:validation:MaxLength=260
	Host string `json:"host,omitempty"`
	// route is the spec.route claimed: a path, or a StaticPageSet's pattern.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Route string `json:"route,omitempty"`
	// since is when the manager first saw this host and route in the spec
	// (the object's creation time for an object that had them before
	// claims were recorded).
	// +required
	Since metav1.Time `json:"since,omitzero"`
}

// Holds reports whether c is a claim on host and route.
func (c *RouteClaim) Holds(host, route string) bool {
	return c != nil && c.Host == host && c.Route == route
}
