package route

import (
	"strings"
)

// HostsAnnotation is the Namespace annotation that grants hosts to the
// StaticPages and StaticPageSets of a namespace: comma-separated entries,
// each an exact host name ("shop.example.com", every port of it), a host
// with a port ("shop.example.com:8443", that port only), a wildcard
// ("*.example.com": one or more labels under example.com, not example.com
// itself), or "*": any host, and pages and sets with no host, which serve
// every host. Entries are trimmed of spaces and compared in lowercase;
// anything else (an empty entry, "a*.example.com") grants nothing.
// Tenants cannot edit their Namespace, so only a cluster admin grants hosts.
const HostsAnnotation = "isr-operator.io/hosts"

// AnyHost is the grant entry that allows every host, and no host.
const AnyHost = "*"

// HostGranted reports whether grants, the value of a namespace's
// HostsAnnotation ("" when it has none), allows a page or set of the
// namespace to declare host (spec.host, "" for any host). This is the one
// rule; the host grants admission policy (config/admission) spells the same
// rule in CEL, and a test holds the two to agreement.
func HostGranted(grants, host string) bool {
	host = NormalizeHost(host)
	name := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		name = host[:i]
	}
	for entry := range strings.SplitSeq(grants, ",") {
		entry = asciiLower(strings.TrimSpace(entry))
		switch {
		case entry == AnyHost:
			return true
		case host == "" || entry == "":
			// Only "*" allows a page without a host.
		case entry == host || entry == name:
			return true
		case strings.HasPrefix(entry, "*.") && strings.HasSuffix(name, entry[1:]) && len(name) > len(entry)-1:
			return true
		}
	}
	return false
}

// GrantEntry is the entry of HostsAnnotation that grants host: its name
// without the port, or "*" for a page or set with no host.
func GrantEntry(host string) string {
	host = NormalizeHost(host)
	if host == "" {
		return AnyHost
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

// GrantCommand is the command a cluster admin runs to grant host to
// namespace, whose HostsAnnotation is now grants: the entries it has, and
// the one host needs.
func GrantCommand(namespace, grants, host string) string {
	value := GrantEntry(host)
	if g := strings.TrimSpace(grants); g != "" {
		value = g + "," + value
	}
	return "kubectl annotate namespace " + namespace + " --overwrite '" + HostsAnnotation + "=" + value + "'"
}

// NotGrantedMessage says why a page or set of namespace may not declare
// host, and what a cluster admin runs to allow it.
func NotGrantedMessage(namespace, grants, host string) string {
	what := "host " + host
	if NormalizeHost(host) == "" {
		what = "no host (every host)"
	}
	return what + " is not granted to namespace " + namespace + " by its " + HostsAnnotation +
		" annotation; nothing is rendered or served. A cluster admin grants it with: " +
		GrantCommand(namespace, grants, host)
}
