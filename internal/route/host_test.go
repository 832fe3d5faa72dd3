package route

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestNormalizeHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"shop.example.com", "shop.example.com"},
		{"SHOP.Example.COM", "shop.example.com"},
		{"shop.example.com.", "shop.example.com"},
		{"shop.example.com..", "shop.example.com"},
		{"shop.example.com.:8080", "shop.example.com:8080"},
		{"Shop.Example.com..:443", "shop.example.com:443"},
		{"shop.example.com:8080", "shop.example.com:8080"},
		{"[::1]:80", "[::1]:80"},
		{"[::1]", "[::1]"},
		{"a:", "a:"},
		{".", ""},
		{"\u212Aey.example", "\u212Aey.example"}, // Kelvin sign: not folded
		{"ÉCOLE.example", "École.example"},       // only ASCII folds
		{"A.Z", "a.z"},                           // the first letter found is A
		{"Z.A", "z.a"},                           // the first letter found is Z
		{"BAZ", "baz"},                           // A and Z after the first
		{"@[`{", "@[`{"},                         // the neighbours of A-Z
	} {
		if got := NormalizeHost(tc.in); got != tc.want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := NormalizeHost(tc.want); got != tc.want {
			t.Errorf("NormalizeHost(%q) = %q, not idempotent", tc.want, got)
		}
	}
}

func TestNormalizeHostDoesNotAllocateWhenNormal(t *testing.T) {
	for _, h := range []string{"shop.example.com", "shop.example.com:8080", "", "[::1]:80"} {
		if n := testing.AllocsPerRun(100, func() { _ = NormalizeHost(h) }); n != 0 {
			t.Errorf("NormalizeHost(%q) allocates %v times", h, n)
		}
	}
}

func TestHostMatches(t *testing.T) {
	for _, tc := range []struct {
		page, host string
		want       bool
	}{
		{"", "anything", true},
		{"", "", true},
		{"shop.example.com", "shop.example.com", true},
		{"shop.example.com", "SHOP.example.com:443", true},
		{"shop.example.com", "shop.example.com.", true},
		{"shop.example.com", "shop.example.com.:80", true},
		{"shop.example.com", "other.example.com", false},
		{"shop.example.com", "", false},
		{"shop.example.com:8080", "shop.example.com:8080", true},
		{"shop.example.com:8080", "shop.example.com", false},
		{"shop.example.com:8080", "shop.example.com:9090", false},
		{"key.example", "\u212Aey.example", false},
		{"a", "a:", true},
		{"[::1]", "[::1]:8000", true},
		{"[::1]:8000", "[::1]", false},
		{"a", ":a", false},
	} {
		if got := HostMatches(tc.page, tc.host); got != tc.want {
			t.Errorf("HostMatches(%q, %q) = %v, want %v", tc.page, tc.host, got, tc.want)
		}
	}
}

func TestValidateHost(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	name253 := strings.Join([]string{label63, label63, label63, strings.Repeat("b", 61)}, ".")
	for _, tc := range []struct {
		host string
		want error
	}{
		{"", nil},
		{"shop.example.com", nil},
		{"shop.example.com:8080", nil},
		{"localhost", nil},
		{"10.0.0.1:1", nil},
		{"xn--caf-dma.example", nil},
		{"a:65535", nil},
		{"a:08080", nil},
		{name253, nil},
		{name253 + ":65535", nil},
		{name253 + "b", errHostNameLong},
		{name253 + "bbbbbbb", errHostNameLong}, // 260: within maxLength, too long a name
		{"a:0", errHostPort},
		{"a:00000", errHostPort},
		{"a:65536", errHostPort},
		{"a:99999", errHostPort},
		{"a:123456", errHostPattern},
		{"a:", errHostPattern},
		{"Shop.example.com", errHostPattern},
		{"shop.example.com.", errHostPattern},
		{"shop..example.com", errHostPattern},
		{".shop.example.com", errHostPattern},
		{"-shop.example.com", errHostPattern},
		{"shop-.example.com", errHostPattern},
		{"shop_1.example.com", errHostPattern},
		{"café.example", errHostPattern},
		{"[::1]", errHostPattern},
		{"a b", errHostPattern},
		{"a\n", errHostPattern},
		{"*.example.com", errHostPattern},
		{strings.Repeat("a", 261), errHostTooLong},
		{strings.Repeat("é", 261), errHostTooLong},
	} {
		if got := ValidateHost(tc.host); got != tc.want {
			t.Errorf("ValidateHost(%.40q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

// FuzzNormalizeHost checks that normalising is idempotent, only folds ASCII
// case and drops dots, leaves a host a page can declare as it is (so that
// normalising never changes what a valid host means), and that the index
// routes a request to a page exactly when HostMatches says so.
func FuzzNormalizeHost(f *testing.F) {
	for _, seed := range [][2]string{
		{"SHOP.example.com:443", "shop.example.com"},
		{"shop.example.com", "shop.example.com."},
		{"anything", ""},
		{"[::1]:8000", "[::1]"},
		{"a:", "a"},
		{"a", "a:80"},
		{"x.:80", "x."},
		{"\u212Aey.example", "key.example"},
		{"a..:80", "a"},
		{"..", "a:b:c"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, host, pageHost string) {
		n := NormalizeHost(host)
		if NormalizeHost(n) != n {
			t.Fatalf("NormalizeHost(%q) = %q, not stable", host, n)
		}
		if undotted(asciiLowerRef(host)) != undotted(n) {
			t.Fatalf("NormalizeHost(%q) = %q does more than fold ASCII case and drop dots", host, n)
		}
		if ValidateHost(host) == nil {
			if n != host {
				t.Fatalf("valid host %q normalises to %q", host, n)
			}
			// Every spelling of a valid host reaches its page.
			name, port, _ := strings.Cut(host, ":")
			spelled := strings.ToUpper(name) + "."
			if port != "" {
				spelled += ":" + port
			}
			if host != "" && !HostMatches(host, spelled) {
				t.Fatalf("%q does not reach a page for %q", spelled, host)
			}
		}
		x := NewIndex[*Claim]()
		page := types.NamespacedName{Namespace: "ns", Name: "p"}
		x.Put(&Claim{Page: page, Host: pageHost, Route: "/p", Created: time.Unix(0, 0)})
		_, got := x.Lookup(host, "/p")
		if want := HostMatches(pageHost, host); got != want {
			t.Fatalf("page host %q, request host %q: routed = %v, HostMatches = %v", pageHost, host, got, want)
		}
	})
}

func undotted(s string) string { return strings.ReplaceAll(s, ".", "") }

// asciiLowerRef is the reference ASCII lowercasing.
func asciiLowerRef(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
