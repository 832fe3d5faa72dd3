package route

import (
	"strings"
	"testing"
)

// grantCase is one case of HostGranted: a namespace's annotation, a host,
// and whether the host is granted.
type grantCase struct {
	Grants, Host string
	Want         bool
}

// grantCases are the table of HostGranted, and the corpus the host grants
// admission policy is held to (grant_policy_agreement_test.go).
var grantCases = []grantCase{
	// No annotation, or an empty one, grants nothing.
	{"", "shop.example.com", false},
	{"", "", false},
	{" , ,", "shop.example.com", false},
	// Exact names, every port of them.
	{"shop.example.com", "shop.example.com", true},
	{"shop.example.com", "shop.example.com:8080", true},
	{"shop.example.com", "www.shop.example.com", false},
	{"shop.example.com", "example.com", false},
	{"shop.example.com", "shop.example.co", false},
	{"shop.example.com", "xshop.example.com", false},
	{"shop.example.com", "", false},
	{"blog.example.com,shop.example.com", "shop.example.com", true},
	{"blog.example.com, shop.example.com ", "shop.example.com", true},
	{"Shop.Example.COM", "shop.example.com", true},
	// A port in an entry grants that port only.
	{"shop.example.com:8443", "shop.example.com:8443", true},
	{"shop.example.com:8443", "shop.example.com", false},
	{"shop.example.com:8443", "shop.example.com:8080", false},
	// Wildcards: one or more labels, never the name itself.
	{"*.example.com", "shop.example.com", true},
	{"*.example.com", "a.b.example.com", true},
	{"*.example.com", "a.b.example.com:8080", true},
	{"*.example.com", "example.com", false},
	{"*.example.com", "badexample.com", false},
	{"*.example.com", "example.com.evil.test", false},
	{"*.example.com", "", false},
	{"*.EXAMPLE.com", "shop.example.com", true},
	// Any host, and no host.
	{"*", "", true},
	{"*", "anything.test", true},
	{"shop.example.com,*", "", true},
	{" * ", "", true},
	// Entries that grant nothing.
	{"**", "shop.example.com", false},
	{"*example.com", "shop.example.com", false},
	{"*example.com", "example.com", false},
	{"a*.example.com", "ab.example.com", false},
	{"*.*.com", "a.b.com", false},
	{"*.", "shop.example.com", false},
	{".example.com", "shop.example.com", false},
	{"shop.example.com.", "shop.example.com", false},
	{"shop.example.com;blog.example.com", "shop.example.com", false},
	{"shop.example.com blog.example.com", "shop.example.com", false},
}

func TestHostGranted(t *testing.T) {
	for _, c := range grantCases {
		if got := HostGranted(c.Grants, c.Host); got != c.Want {
			t.Errorf("HostGranted(%q, %q) = %v, want %v", c.Grants, c.Host, got, c.Want)
		}
	}
}

func TestGrantCommand(t *testing.T) {
	for _, c := range []struct{ ns, grants, host, want string }{
		{"shop", "", "shop.example.com", "kubectl annotate namespace shop --overwrite 'isr-operator.io/hosts=shop.example.com'"},
		{"shop", "", "shop.example.com:8080", "kubectl annotate namespace shop --overwrite 'isr-operator.io/hosts=shop.example.com'"},
		{"shop", " blog.example.com ", "shop.example.com", "kubectl annotate namespace shop --overwrite 'isr-operator.io/hosts=blog.example.com,shop.example.com'"},
		{"demo", "", "", "kubectl annotate namespace demo --overwrite 'isr-operator.io/hosts=*'"},
	} {
		got := GrantCommand(c.ns, c.grants, c.host)
		if got != c.want {
			t.Errorf("GrantCommand(%q, %q, %q) = %q, want %q", c.ns, c.grants, c.host, got, c.want)
		}
		// What the command grants allows the host.
		value := strings.TrimSuffix(got[strings.Index(got, "=")+1:], "'")
		if !HostGranted(value, c.host) {
			t.Errorf("GrantCommand(%q, %q, %q) grants %q, which does not allow the host", c.ns, c.grants, c.host, value)
		}
	}
}

func TestNotGrantedMessage(t *testing.T) {
	msg := NotGrantedMessage("b", "", "shop.example.com")
	for _, want := range []string{"host shop.example.com", "namespace b", HostsAnnotation, "kubectl annotate namespace b"} {
		if !strings.Contains(msg, want) {
			t.Errorf("NotGrantedMessage = %q, want it to name %q", msg, want)
		}
	}
	if msg := NotGrantedMessage("b", "", ""); !strings.Contains(msg, "no host") || !strings.Contains(msg, HostsAnnotation+"=*") {
		t.Errorf("NotGrantedMessage for no host = %q, want it to say so and grant *", msg)
	}
}
