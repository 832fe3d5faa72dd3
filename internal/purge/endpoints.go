package purge

import (
	"net"
	"slices"
	"strconv"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// ServiceURLs are the http:// base URLs of every ready endpoint in a
// Service's EndpointSlices on port (the port the pods listen on, as the
// slices list it): one per endpoint, at its first address (an endpoint's
// addresses are the same pod), sorted, without duplicates. An endpoint
// whose ready condition is unset counts as ready, as the EndpointSlice API
// asks of consumers; a terminating or unready one is left out, since it
// serves no visitor.
func ServiceURLs(endpointSlices []discoveryv1.EndpointSlice, port int32) []string {
	var out []string
	for _, s := range endpointSlices {
		if !listsPort(s.Ports, port) {
			continue
		}
		for _, e := range s.Endpoints {
			if len(e.Addresses) == 0 || (e.Conditions.Ready != nil && !*e.Conditions.Ready) {
				continue
			}
			out = append(out, "http://"+net.JoinHostPort(e.Addresses[0], strconv.Itoa(int(port))))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// listsPort says whether a slice's endpoints listen on port; a port
// without a number means every port.
func listsPort(ports []discoveryv1.EndpointPort, port int32) bool {
	for _, p := range ports {
		if p.Port == nil || *p.Port == port {
			return true
		}
	}
	return false
}
