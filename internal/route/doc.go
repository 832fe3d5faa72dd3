// Package route is the one home of host and path rules: how a Host header
// is normalised and matched, how a request target decodes to a route, which
// routes and hosts a StaticPage may declare (exactly what its CRD accepts),
// which page wins a URL when several claim it, and the route patterns of
// StaticPageSets.
//
// Routes are held decoded, as spec.route holds them and as net/http decodes
// a request target into r.URL.Path; patterns match the escaped path
// (r.URL.EscapedPath()) so that an encoded slash never splits a segment.
package route
