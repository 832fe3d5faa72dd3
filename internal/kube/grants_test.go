package kube

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/isr-operator/isr-operator/internal/route"
)

func TestValidateHostGrants(t *testing.T) {
	for _, mode := range []string{HostGrantsRequired, HostGrantsOff, ""} {
		if err := ValidateHostGrants(mode); err != nil {
			t.Errorf("ValidateHostGrants(%q) = %v, want nil", mode, err)
		}
	}
	for _, mode := range []string{"Required", "on", "none"} {
		if err := ValidateHostGrants(mode); err == nil {
			t.Errorf("ValidateHostGrants(%q) = nil, want an error", mode)
		}
	}
	if NewHostGrants(HostGrantsOff, nil).Enabled() {
		t.Errorf("--host-grants=off checks grants")
	}
	if !NewHostGrants(HostGrantsRequired, nil).Enabled() || !NewHostGrants("", nil).Enabled() {
		t.Errorf("--host-grants=required (or unset) does not check grants")
	}
}

func TestGrantsChanged(t *testing.T) {
	ns := func(annotations map[string]string) *metav1.PartialObjectMetadata {
		m := NamespaceMetadata()
		m.Name, m.Annotations = "shop", annotations
		return m
	}
	p := GrantsChanged()
	for _, c := range []struct {
		name     string
		old, new map[string]string
		want     bool
	}{
		{"granted", nil, map[string]string{route.HostsAnnotation: "shop.example.com"}, true},
		{"revoked", map[string]string{route.HostsAnnotation: "shop.example.com"}, nil, true},
		{"changed", map[string]string{route.HostsAnnotation: "a.example"}, map[string]string{route.HostsAnnotation: "b.example"}, true},
		{"another annotation", map[string]string{route.HostsAnnotation: "a.example"}, map[string]string{route.HostsAnnotation: "a.example", "team": "web"}, false},
		{"nothing", nil, nil, false},
	} {
		if got := p.Update(event.UpdateEvent{ObjectOld: ns(c.old), ObjectNew: ns(c.new)}); got != c.want {
			t.Errorf("%s: GrantsChanged = %v, want %v", c.name, got, c.want)
		}
	}
	if p.Create(event.CreateEvent{Object: ns(nil)}) || p.Delete(event.DeleteEvent{Object: ns(nil)}) {
		t.Errorf("GrantsChanged lets a Namespace's creation or deletion through")
	}
}
