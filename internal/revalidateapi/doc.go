// Package revalidateapi is the revalidate API: an authenticated HTTP
// endpoint (POST /revalidate) a CMS calls to re-render pages now, by path,
// label selector or name, optionally waiting until the new content is
// served. It is not a Kubernetes admission webhook: it sets the same
// revalidate annotation `kubectl annotate` does, and nothing else.
package revalidateapi
