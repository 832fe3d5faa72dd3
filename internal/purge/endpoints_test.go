package purge

import (
	"slices"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
)

func TestServiceURLs(t *testing.T) {
	endpoint := func(ready *bool, addrs ...string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: addrs, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
	}
	slice := func(port *int32, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
		return discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Name: new("http"), Port: port}}, Endpoints: eps}
	}
	cases := []struct {
		name   string
		slices []discoveryv1.EndpointSlice
		want   []string
	}{
		{"none", nil, nil},
		{"ready, and unset counts as ready", []discoveryv1.EndpointSlice{
			slice(new(int32(6081)), endpoint(new(true), "10.0.0.2"), endpoint(nil, "10.0.0.1")),
		}, []string{"http://10.0.0.1:6081", "http://10.0.0.2:6081"}},
		{"not ready or terminating left out", []discoveryv1.EndpointSlice{
			slice(new(int32(6081)), endpoint(new(false), "10.0.0.3"), endpoint(new(true), "10.0.0.4")),
		}, []string{"http://10.0.0.4:6081"}},
		{"across slices, duplicates once", []discoveryv1.EndpointSlice{
			slice(new(int32(6081)), endpoint(nil, "10.0.0.5")),
			slice(new(int32(6081)), endpoint(nil, "10.0.0.5"), endpoint(nil, "10.0.0.6")),
		}, []string{"http://10.0.0.5:6081", "http://10.0.0.6:6081"}},
		{"a slice of another port is not purged", []discoveryv1.EndpointSlice{
			slice(new(int32(80)), endpoint(nil, "10.0.0.7")),
		}, nil},
		{"a port without a number is every port", []discoveryv1.EndpointSlice{
			slice(nil, endpoint(nil, "10.0.0.8")),
		}, []string{"http://10.0.0.8:6081"}},
		{"the first address of an endpoint, IPv6 in brackets", []discoveryv1.EndpointSlice{
			slice(new(int32(6081)), endpoint(nil, "fd00::1", "fd00::2")),
		}, []string{"http://[fd00::1]:6081"}},
		{"an endpoint without addresses", []discoveryv1.EndpointSlice{
			slice(new(int32(6081)), endpoint(nil)),
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ServiceURLs(c.slices, 6081); !slices.Equal(got, c.want) {
				t.Fatalf("ServiceURLs = %v, want %v", got, c.want)
			}
		})
	}
}
