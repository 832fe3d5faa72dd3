package render

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// guardFor builds a guard from allow and deny entries, failing t on an
// error.
func guardFor(t *testing.T, allow, deny []string) *Guard {
	t.Helper()
	g, err := NewGuard(allow, deny)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGuardCheck is the guard's whole address decision, row by row: the
// fixed refusals, the embedded IPv4 forms, the site's denied ranges and the
// allowances with and without a port.
func TestGuardCheck(t *testing.T) {
	allowing := guardFor(t, []string{"LocalHost", "10.1.0.0/16", "169.254.169.254", "[::1]"}, nil)
	linkLocal := guardFor(t, []string{"fe80::/10", "::ffff:127.0.0.0/104"}, nil)
	// ::ffff:0.0.0.0/96 is every IPv4 address, written mapped.
	allIPv4 := guardFor(t, []string{"::ffff:0.0.0.0/96"}, nil)
	ports := guardFor(t, []string{"127.0.0.1:8088", "[::1]:8088", "shop.svc:8080", "10.9.0.0/16:80", "[fd00:ec2::/32]:443"}, nil)
	site := guardFor(t, []string{"10.1.2.3", "10.0.0.0/8", "internal.shop:8443", "172.16.5.0/24:80"}, []string{"10.0.0.0/8", "172.16.0.0/12", "192.0.2.7", "::ffff:198.51.100.0/120"})
	nat64 := guardFor(t, []string{"64:ff9b::/96"}, nil)
	nat64Meta := guardFor(t, []string{"[64:ff9b::a9fe:a9fe]:80"}, nil)
	tests := []struct {
		guard *Guard
		host  string
		addr  string
		port  uint16
		class string // "" = allowed
	}{
		{nil, "o", "127.0.0.1", 80, ClassLoopback},
		{nil, "o", "127.5.6.7", 80, ClassLoopback},
		{nil, "o", "::1", 80, ClassLoopback},
		{nil, "o", "::ffff:127.0.0.1", 80, ClassLoopback},
		{nil, "o", "169.254.169.254", 80, ClassLinkLocal},
		{nil, "o", "fe80::1", 80, ClassLinkLocal},
		{nil, "o", "0.0.0.0", 80, ClassUnspecified},
		{nil, "o", "::", 80, ClassUnspecified},
		{nil, "o", "239.1.2.3", 80, ClassMulticast},
		{nil, "o", "10.1.2.3", 80, ""},
		{nil, "o", "192.168.1.1", 80, ""},
		{nil, "o", "93.184.216.34", 80, ""},
		{nil, "o", "2606:2800:220:1::", 80, ""},
		{&Guard{}, "o", "127.0.0.1", 80, ClassLoopback},

		// Cloud metadata endpoints that are not link-local.
		{nil, "o", "fd00:ec2::254", 80, ClassMetadata},
		{nil, "o", "fd00:c1::a9fe:a9fe", 80, ClassMetadata},
		{nil, "o", "100.100.100.200", 80, ClassMetadata},
		{nil, "o", "::ffff:100.100.100.200", 80, ClassMetadata},
		{nil, "o", "fd00:ec2::253", 80, ""},
		{nil, "o", "100.100.100.201", 80, ""},
		{nil, "o", "100.64.0.1", 80, ""},

		// IPv6 forms of refused IPv4 addresses: NAT64, 6to4,
		// IPv4-compatible; and of allowed ones.
		{nil, "o", "64:ff9b::a9fe:a9fe", 80, ClassLinkLocal},
		{nil, "o", "64:ff9b::169.254.169.254", 80, ClassLinkLocal},
		{nil, "o", "64:ff9b::7f00:1", 80, ClassLoopback},
		{nil, "o", "64:ff9b::6464:64c8", 80, ClassMetadata},
		{nil, "o", "64:ff9b::", 80, ClassUnspecified},
		{nil, "o", "64:ff9b::5db8:d822", 80, ""},
		{nil, "o", "2002:a9fe:a9fe::1", 80, ClassLinkLocal},
		{nil, "o", "2002:7f00:1:1::1", 80, ClassLoopback},
		{nil, "o", "2002:5db8:d822::1", 80, ""},
		{nil, "o", "::a9fe:a9fe", 80, ClassLinkLocal},
		{nil, "o", "::127.0.0.1", 80, ClassLoopback},
		{nil, "o", "::5db8:d822", 80, ""},
		{nil, "o", "64:ff9b:0:0:1::a9fe:a9fe", 80, ""}, // outside 64:ff9b::/96
		// Allowing the NAT64 range does not allow the metadata endpoint
		// through it; allowing that one address does.
		{nat64, "o", "64:ff9b::5db8:d822", 80, ""},
		{nat64, "o", "64:ff9b::a9fe:a9fe", 80, ClassLinkLocal},
		{nat64Meta, "o", "64:ff9b::a9fe:a9fe", 80, ""},
		{nat64Meta, "o", "64:ff9b::a9fe:a9fe", 81, ClassLinkLocal},
		{allowing, "o", "64:ff9b::a9fe:a9fe", 80, ""},
		{allowing, "o", "2002:7f00:1::1", 80, ClassLoopback},
		{allIPv4, "o", "64:ff9b::a9fe:a9fe", 80, ""},
		{guardFor(t, []string{"64:ff9b::/97"}, nil), "o", "64:ff9b::a9fe:a9fe", 80, ClassLinkLocal},

		// Allowances without a port.
		{allowing, "localhost", "127.0.0.1", 80, ""},
		{allowing, "localhost.", "::1", 80, ""},
		{allowing, "LOCALHOST", "127.0.0.1", 9, ""},
		{allowing, "other", "127.0.0.1", 80, ClassLoopback},
		{allowing, "other", "::1", 80, ""},
		{allowing, "other", "::ffff:169.254.169.254", 80, ""},
		{allowing, "other", "169.254.169.253", 80, ClassLinkLocal},
		{nil, "o", "fe80::1%eth0", 80, ClassLinkLocal},
		{linkLocal, "o", "fe80::1%eth0", 80, ""},
		{linkLocal, "o", "127.0.0.9", 80, ""},
		{linkLocal, "o", "::ffff:127.0.0.9", 80, ""},
		{linkLocal, "o", "169.254.169.254", 80, ClassLinkLocal},
		{allIPv4, "o", "127.0.0.1", 80, ""},
		{allIPv4, "o", "169.254.169.254", 80, ""},
		{allIPv4, "o", "100.100.100.200", 80, ""},
		{allIPv4, "o", "::1", 80, ClassLoopback},

		// Allowances with a port allow that port alone.
		{ports, "o", "127.0.0.1", 8088, ""},
		{ports, "o", "127.0.0.1", 8080, ClassLoopback},
		{ports, "o", "127.0.0.1", 8081, ClassLoopback},
		{ports, "o", "::1", 8088, ""},
		{ports, "o", "::1", 80, ClassLoopback},
		{ports, "shop.svc", "127.0.0.1", 8080, ""},
		{ports, "shop.svc", "127.0.0.1", 8088, ""},
		{ports, "shop.svc", "127.0.0.2", 8081, ClassLoopback},
		{ports, "o", "fd00:ec2::254", 443, ""},
		{ports, "o", "fd00:ec2::254", 80, ClassMetadata},

		// The site's denied ranges: only a narrower allowance reopens
		// part of one; an equal one does not.
		{site, "o", "10.1.2.3", 80, ""},
		{site, "o", "10.1.2.4", 80, ClassDenied},
		{site, "o", "::ffff:10.1.2.4", 80, ClassDenied},
		{site, "o", "172.16.5.9", 80, ""},
		{site, "o", "172.16.5.9", 81, ClassDenied},
		{site, "o", "172.17.0.1", 80, ClassDenied},
		{site, "internal.shop", "172.17.0.1", 8443, ""},
		{site, "internal.shop", "172.17.0.1", 443, ClassDenied},
		{site, "o", "192.0.2.7", 80, ClassDenied},
		{site, "o", "192.0.2.8", 80, ""},
		{site, "o", "198.51.100.9", 80, ClassDenied},
		{site, "o", "64:ff9b::ac11:1", 80, ClassDenied},
		{site, "o", "2002:ac11:1::1", 80, ClassDenied},
		{site, "o", "127.0.0.1", 80, ClassLoopback},
		{site, "o", "192.168.0.1", 80, ""},
	}
	for _, tt := range tests {
		err := tt.guard.Check(tt.host, netip.AddrPortFrom(netip.MustParseAddr(tt.addr), tt.port))
		var refused *RefusedError
		switch {
		case tt.class == "" && err != nil:
			t.Errorf("%s -> [%s]:%d: refused: %v", tt.host, tt.addr, tt.port, err)
		case tt.class != "" && (!errors.As(err, &refused) || refused.Class != tt.class):
			t.Errorf("%s -> [%s]:%d: err = %v, want %s refusal", tt.host, tt.addr, tt.port, err, tt.class)
		}
	}
}

// TestEmbeddedIPv4 reads the IPv4 address out of each IPv6 form that
// carries one, and out of no other.
func TestEmbeddedIPv4(t *testing.T) {
	for addr, want := range map[string]string{
		"64:ff9b::a9fe:a9fe":    "169.254.169.254",
		"64:ff9b::c000:221":     "192.0.2.33",
		"2002:c000:221::":       "192.0.2.33",
		"2002:c000:221:ffff::1": "192.0.2.33",
		"::c000:221":            "192.0.2.33",
		"::1":                   "0.0.0.1",
		"64:ff9b:1::a9fe:a9fe":  "",
		"2001:db8::c000:221":    "",
		"fd00:c1::a9fe:a9fe":    "",
		"::ffff:c000:221":       "", // mapped: unmapped before, never seen here
		"192.0.2.33":            "",
		"2003:c000:221::":       "",
	} {
		got, ok := embeddedIPv4(netip.MustParseAddr(addr))
		switch {
		case want == "" && ok:
			t.Errorf("embeddedIPv4(%s) = %s, want none", addr, got)
		case want != "" && (!ok || got.String() != want):
			t.Errorf("embeddedIPv4(%s) = %s, %v, want %s", addr, got, ok, want)
		}
	}
}

// TestRefusedErrorSaysWhatToAllow: a refusal names the address and its
// class, and the --allow-origin value that would allow it, with the port:
// the address itself when the URL gave it, else the host name or the
// address.
func TestRefusedErrorSaysWhatToAllow(t *testing.T) {
	metadata := netip.MustParseAddr("169.254.169.254")
	for _, tt := range []struct {
		err  *RefusedError
		want string
	}{
		{&RefusedError{Host: "169.254.169.254", Addr: metadata, Port: 80, Class: ClassLinkLocal},
			"origin address 169.254.169.254 is a link-local address, which is refused; allow it with --allow-origin=169.254.169.254:80"},
		{&RefusedError{Host: "[::1]", Addr: netip.MustParseAddr("::1"), Port: 8088, Class: ClassLoopback},
			"origin address ::1 is a loopback address, which is refused; allow it with --allow-origin=[::1]:8088"},
		{&RefusedError{Host: "0.0.0.0", Addr: netip.MustParseAddr("0.0.0.0"), Class: ClassUnspecified},
			"origin address 0.0.0.0 is an unspecified address, which is refused; allow it with --allow-origin=0.0.0.0"},
		{&RefusedError{Host: "metadata.internal", Addr: metadata, Port: 80, Class: ClassLinkLocal},
			"origin host metadata.internal resolves to 169.254.169.254, a link-local address, which is refused; allow it with --allow-origin=metadata.internal:80 or --allow-origin=169.254.169.254:80"},
		{&RefusedError{Host: "192.0.2.1", Addr: metadata, Port: 80, Class: ClassLinkLocal},
			"origin host 192.0.2.1 resolves to 169.254.169.254, a link-local address, which is refused; allow it with --allow-origin=192.0.2.1:80 or --allow-origin=169.254.169.254:80"},
		{&RefusedError{Host: "64:ff9b::a9fe:a9fe", Addr: netip.MustParseAddr("64:ff9b::a9fe:a9fe"), Port: 80, Class: ClassLinkLocal, Embedded: metadata},
			"origin address 64:ff9b::a9fe:a9fe is an IPv6 form of 169.254.169.254 (a link-local address), which is refused; allow it with --allow-origin=[64:ff9b::a9fe:a9fe]:80"},
		{&RefusedError{Host: "fd00:ec2::254", Addr: netip.MustParseAddr("fd00:ec2::254"), Port: 80, Class: ClassMetadata},
			"origin address fd00:ec2::254 is a cloud metadata address, which is refused; allow it with --allow-origin=[fd00:ec2::254]:80"},
		{&RefusedError{Host: "db.internal", Addr: netip.MustParseAddr("10.0.0.5"), Port: 5432, Class: ClassDenied},
			"origin host db.internal resolves to 10.0.0.5, in a range of --deny-origin-cidrs, which is refused; allow it with --allow-origin=db.internal:5432 or --allow-origin=10.0.0.5:5432"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestSuggestedAllowanceAllows: the --allow-origin value a refusal
// suggests, given back to the guard, allows that connection and no other
// port.
func TestSuggestedAllowanceAllows(t *testing.T) {
	for _, tt := range []struct {
		host, addr string
		deny       []string
	}{
		{"127.0.0.1", "127.0.0.1", nil},
		{"::1", "::1", nil},
		{"metadata.internal", "169.254.169.254", nil},
		{"64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe", nil},
		{"db.internal", "10.0.0.5", []string{"10.0.0.0/8"}},
		{"10.0.0.5", "10.0.0.5", []string{"10.0.0.0/8"}},
	} {
		to := netip.AddrPortFrom(netip.MustParseAddr(tt.addr), 8088)
		var refused *RefusedError
		if err := guardFor(t, nil, tt.deny).Check(tt.host, to); !errors.As(err, &refused) {
			t.Fatalf("%s at %s: err = %v, want a refusal", tt.host, to, err)
		}
		suggested := refused.Error()[strings.LastIndex(refused.Error(), "--allow-origin=")+len("--allow-origin="):]
		g := guardFor(t, []string{suggested}, tt.deny)
		if err := g.Check(tt.host, to); err != nil {
			t.Errorf("--allow-origin=%s: %s at %s: %v", suggested, tt.host, to, err)
		}
		if err := g.Check(tt.host, netip.AddrPortFrom(to.Addr(), 8080)); err == nil {
			t.Errorf("--allow-origin=%s allows port 8080 too", suggested)
		}
	}
}

func TestNewGuardRefusesBadEntries(t *testing.T) {
	for entry, says := range map[string]string{
		"http://localhost":    "is a URL",
		"10.0.0.0/33":         "not a valid CIDR",
		"1.2.3.4/x":           "not a valid CIDR",
		"Exa_mple.com":        "neither a host name",
		"not a host":          "neither a host name",
		"fe80::1%eth0/64/bad": "not a valid CIDR",
		"127.0.0.1:0":         "not a port number",
		"127.0.0.1:http":      "not a port number",
		"[::1]:65536":         "not a port number",
		"shop.svc:":           "not a port number",
		"exa_mple.com:80":     "neither a host name",
		"[10.0.0.0/33]:80":    "not a valid CIDR",
	} {
		if _, err := NewGuard([]string{entry}, nil); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("NewGuard(%q) = %v, want an error saying %q", entry, err, says)
		}
	}
	for entry, says := range map[string]string{
		"10.0.0.0/33":    "not a valid CIDR",
		"shop.svc":       "not a CIDR or an IP address",
		"127.0.0.1:8088": "not a CIDR or an IP address",
	} {
		if _, err := NewGuard(nil, []string{entry}); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("NewGuard(nil, %q) = %v, want an error saying %q", entry, err, says)
		}
	}
	if _, err := NewGuard([]string{" ", "127.0.0.1:8088", "[::1]:1", "::1", "fd00::/8", "[fd00::/8]:80", "shop.svc:65535"}, []string{"", "10.0.0.0/8", "192.0.2.1", "::ffff:10.0.0.0/104"}); err != nil {
		t.Errorf("NewGuard refused good entries: %v", err)
	}
}

func TestParseContentTypes(t *testing.T) {
	def, _ := ParseContentTypes(nil)
	anyType, _ := ParseContentTypes([]string{"*/*"})
	text, _ := ParseContentTypes([]string{"text/*", "application/json"})
	tests := []struct {
		c    *ContentTypes
		ct   string
		want bool
	}{
		{def, "text/html; charset=utf-8", true},
		{def, "TEXT/HTML", true},
		{def, "application/octet-stream", false},
		{def, "image/png", false},
		{def, "not a type", false},
		{anyType, "image/png", true},
		{text, "text/markdown", true},
		{text, "application/json", true},
		{text, "application/xml", false},
		{nil, "image/png", true},
	}
	for _, tt := range tests {
		if got := tt.c.Allows(tt.ct); got != tt.want {
			t.Errorf("Allows(%q) = %v, want %v", tt.ct, got, tt.want)
		}
	}
	for _, bad := range []string{"html", "*/html", "text/html; ="} {
		if _, err := ParseContentTypes([]string{bad}); err == nil {
			t.Errorf("ParseContentTypes(%q) accepted it", bad)
		}
	}
}

// fetch GETs url with a client built from allow and returns the reason, or
// "" on success.
func fetch(t *testing.T, allow []string, url string) (string, error) {
	t.Helper()
	return fetchThrough(t, guardFor(t, allow, nil), url)
}

// fetchThrough GETs url with a client that dials through guard and returns
// the reason, or "" on success.
func fetchThrough(t *testing.T, guard *Guard, url string) (string, error) {
	t.Helper()
	f := &Fetcher{Client: NewClient(ClientOptions{Guard: guard, MaxRedirects: 2}), MaxBodyBytes: 1 << 20}
	_, err := f.Fetch(context.Background(), url, 5*time.Second)
	if err == nil {
		return "", nil
	}
	var oe *Error
	if !errors.As(err, &oe) {
		t.Fatalf("fetching %s: %v is not an origin failure", url, err)
	}
	return oe.Reason, err
}

// TestFetchThroughTheGuard fetches, in a network namespace of its own,
// from an origin on loopback and from the metadata address, which a
// listener there answers: a refused address is refused by the guard before
// any connection to it is made, and an allowed one is fetched.
func TestFetchThroughTheGuard(t *testing.T) {
	if !isolated(t) {
		return
	}
	metadata := listenCounting(t, metadataAddr+":80")
	var pageHits atomic.Int32 // requests for /page
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/page" {
			pageHits.Add(1)
		}
		switch r.URL.Path {
		case "/metadata":
			http.Redirect(w, r, "http://"+metadataAddr+"/latest/meta-data/", http.StatusFound)
		case "/loopback":
			http.Redirect(w, r, "http://127.0.0.1:"+port(r)+"/page", http.StatusFound)
		case "/ftp":
			http.Redirect(w, r, "ftp://example.com/page", http.StatusFound)
		case "/hop1":
			http.Redirect(w, r, "/hop2", http.StatusFound)
		case "/hop2":
			http.Redirect(w, r, "/page", http.StatusFound)
		case "/hop0":
			http.Redirect(w, r, "/hop1", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<p>page</p>"))
		}
	}))
	defer srv.Close()
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	byIP := "http://127.0.0.1:" + p
	byName := "http://localhost:" + p
	if _, err := net.LookupHost("localhost"); err != nil {
		t.Fatalf("this machine cannot resolve localhost: %v", err)
	}

	// refusedAt is the address a row's guard refuses, checked before
	// any connection to it: "" when the row expects no address refusal.
	tests := []struct {
		name      string
		allow     []string
		url       string
		want      string
		refusedAt string
	}{
		{"loopback IP refused by default", nil, byIP + "/page", v1.ReasonOriginRefused, "127.0.0.1"},
		{"a name resolving to loopback refused", nil, byName + "/page", v1.ReasonOriginRefused, "127.0.0.1"},
		{"metadata endpoint refused", nil, "http://" + metadataAddr + "/latest/meta-data/", v1.ReasonOriginRefused, metadataAddr},
		{"metadata endpoint refused when loopback is allowed", []string{"127.0.0.0/8"}, "http://" + metadataAddr + "/latest/meta-data/", v1.ReasonOriginRefused, metadataAddr},
		{"IPv6 loopback refused", nil, "http://[::1]:1/", v1.ReasonOriginRefused, "::1"},
		{"unspecified refused", nil, "http://0.0.0.0:" + p + "/page", v1.ReasonOriginRefused, "0.0.0.0"},
		{"allowed by IP", []string{"127.0.0.1"}, byIP + "/page", "", ""},
		{"allowed by CIDR", []string{"127.0.0.0/8"}, byName + "/page", "", ""},
		{"allowed by host name", []string{"localhost"}, byName + "/page", "", ""},
		{"a host allowance does not cover its IP", []string{"localhost"}, byIP + "/page", v1.ReasonOriginRefused, "127.0.0.1"},
		{"redirect to the metadata endpoint refused", []string{"127.0.0.0/8"}, byIP + "/metadata", v1.ReasonOriginRefused, metadataAddr},
		{"redirect from an allowed name to a refused address", []string{"localhost"}, byName + "/loopback", v1.ReasonOriginRefused, "127.0.0.1"},
		{"redirect to another scheme refused", []string{"127.0.0.1"}, byIP + "/ftp", v1.ReasonOriginRefused, ""},
		{"redirects within the limit followed", []string{"127.0.0.1"}, byIP + "/hop1", "", ""},
		{"too many redirects", []string{"127.0.0.1"}, byIP + "/hop0", v1.ReasonOriginError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := pageHits.Load()
			got, err := fetch(t, tt.allow, tt.url)
			if got != tt.want {
				t.Fatalf("reason = %q (%v), want %q", got, err, tt.want)
			}
			if tt.want == v1.ReasonOriginRefused && !strings.Contains(err.Error(), "--allow-origin") && !strings.Contains(err.Error(), "scheme") {
				t.Errorf("refusal does not say how to allow it: %v", err)
			}
			if tt.refusedAt == "" {
				return
			}
			// A *RefusedError comes from the guard's check of the socket's
			// address, which runs before the connection is attempted.
			var refused *RefusedError
			if !errors.As(err, &refused) || refused.Addr.String() != tt.refusedAt {
				t.Errorf("err = %v, want the guard's refusal of %s", err, tt.refusedAt)
			}
			if pageHits.Load() != before {
				t.Error("a refused fetch reached the origin's page")
			}
		})
	}
	if pageHits.Load() == 0 {
		t.Error("no allowed fetch reached the origin")
	}
	if n := metadata.accepted.Load(); n != 0 {
		t.Errorf("%d connections reached %s, which the guard refuses", n, metadataAddr)
	}
}

// TestGuardRefusesMetadataAndEmbeddedForms fetches, in a network namespace
// of its own, from listeners on the cloud metadata addresses that are not
// link-local, on IPv6 forms of the link-local one, on an address of a
// site's denied range and on a loopback port that an --allow-origin entry
// with another port does not cover. Each is refused before a connection is
// made; the same fetch through a guard that allows the address reaches the
// listener, which proves that a guard letting it through would be seen.
func TestGuardRefusesMetadataAndEmbeddedForms(t *testing.T) {
	if !isolated(t) {
		return
	}
	deny := []string{"192.0.2.0/24"}
	other := listenCounting(t, "127.0.0.1:0")
	_, otherPort, _ := net.SplitHostPort(other.Addr().String())
	allowedPort := listenCounting(t, "127.0.0.1:0")
	_, allowedPortNumber, _ := net.SplitHostPort(allowedPort.Addr().String())
	portOnly := []string{"127.0.0.1:" + allowedPortNumber}
	tests := []struct {
		name   string
		addr   string // listened on at port 80, or the listener's address
		ln     *countingListener
		allow  []string // the guard that refuses
		class  string
		reopen []string // the guard that lets it through
	}{
		{"AWS metadata over IPv6", "fd00:ec2::254", nil, nil, ClassMetadata, []string{"fd00:ec2::254"}},
		{"Oracle Cloud metadata over IPv6", "fd00:c1::a9fe:a9fe", nil, nil, ClassMetadata, []string{"[fd00:c1::a9fe:a9fe]:80"}},
		{"Alibaba Cloud metadata", "100.100.100.200", nil, nil, ClassMetadata, []string{"100.100.100.200:80"}},
		{"NAT64 form of the metadata endpoint", "64:ff9b::a9fe:a9fe", nil, []string{"64:ff9b::/96"}, ClassLinkLocal, []string{"169.254.169.254"}},
		{"6to4 form of the metadata endpoint", "2002:a9fe:a9fe::1", nil, []string{"2002::/16"}, ClassLinkLocal, []string{"2002:a9fe:a9fe::1"}},
		{"IPv4-compatible form of the metadata endpoint", "::a9fe:a9fe", nil, nil, ClassLinkLocal, []string{"169.254.169.254:80"}},
		{"a site's denied range", "192.0.2.10", nil, []string{"192.0.2.0/24"}, ClassDenied, []string{"192.0.2.10"}},
		{"a loopback port an allowance with another port leaves refused", "127.0.0.1:" + otherPort, other, portOnly, ClassLoopback, []string{"127.0.0.1:" + otherPort}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, hostPort := tt.ln, tt.addr
			if ln == nil {
				hostPort = net.JoinHostPort(tt.addr, "80")
				ln = listenCounting(t, hostPort)
			}
			url := "http://" + hostPort + "/latest/meta-data/"
			got, err := fetchThrough(t, guardFor(t, tt.allow, deny), url)
			var refused *RefusedError
			if got != v1.ReasonOriginRefused || !errors.As(err, &refused) || refused.Class != tt.class {
				t.Fatalf("reason = %q (%v), want the guard's %s refusal", got, err, tt.class)
			}
			if n := ln.accepted.Load(); n != 0 {
				t.Fatalf("%d connections reached %s, which the guard refuses", n, hostPort)
			}
			if got, err := fetchThrough(t, guardFor(t, tt.reopen, deny), url); got != "" {
				t.Fatalf("allowed with --allow-origin=%v: reason = %q (%v)", tt.reopen, got, err)
			}
			if ln.accepted.Load() == 0 {
				t.Fatal("the allowed fetch did not reach the listener")
			}
		})
	}
	// The port the allowance names is fetched.
	if got, err := fetchThrough(t, guardFor(t, portOnly, nil), "http://127.0.0.1:"+allowedPortNumber+"/"); got != "" {
		t.Fatalf("--allow-origin=%s: reason = %q (%v)", portOnly[0], got, err)
	}
	if allowedPort.accepted.Load() == 0 {
		t.Fatal("the allowed port's fetch did not reach it")
	}
}

// TestProxyCannotBypassTheGuard: with a proxy, the guard would check the
// proxy's address and the proxy would reach the metadata endpoint for it.
// It runs in a network namespace of its own, where the metadata address is
// a listener of the test's.
func TestProxyCannotBypassTheGuard(t *testing.T) {
	if !isolated(t) {
		return
	}
	metadata := listenCounting(t, metadataAddr+":80")
	// net/http reads the proxy environment once per process, so the
	// request below alone might not notice a proxy set up by an earlier test.
	if tr, ok := NewClient(ClientOptions{}).Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Fatal("the origin client may use a proxy")
	}
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		proxied.Add(1)
		_, _ = w.Write([]byte("from the proxy"))
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	got, err := fetch(t, []string{"127.0.0.1"}, "http://"+metadataAddr+"/latest/meta-data/")
	if got != v1.ReasonOriginRefused {
		t.Fatalf("reason = %q (%v), want %q", got, err, v1.ReasonOriginRefused)
	}
	if n := proxied.Load(); n != 0 {
		t.Fatalf("the proxy got %d requests", n)
	}
	if n := metadata.accepted.Load(); n != 0 {
		t.Errorf("%d connections reached %s, which the guard refuses", n, metadataAddr)
	}
}

func port(r *http.Request) string {
	_, p, _ := net.SplitHostPort(r.Host)
	return p
}

func TestHostLimiter(t *testing.T) {
	l := &HostLimiter{Max: 2}
	r1, ok1 := l.TryAcquire("a")
	r2, ok2 := l.TryAcquire("a")
	_, ok3 := l.TryAcquire("a")
	rb, okb := l.TryAcquire("b")
	if !ok1 || !ok2 || ok3 || !okb {
		t.Fatalf("acquire a,a,a,b = %v %v %v %v, want true true false true", ok1, ok2, ok3, okb)
	}
	r1()
	r1() // a second release must not free another slot
	if l.InFlight("a") != 1 {
		t.Fatalf("in flight on a = %d after one release, want 1", l.InFlight("a"))
	}
	r4, ok4 := l.TryAcquire("a")
	_, ok5 := l.TryAcquire("a")
	if !ok4 || ok5 {
		t.Fatalf("after a release: %v %v, want true false", ok4, ok5)
	}
	r2()
	r4()
	rb()
	if l.InFlight("a") != 0 || l.InFlight("b") != 0 {
		t.Fatal("slots leaked")
	}
	if len(l.inFlight) != 0 {
		t.Fatalf("hosts with nothing in flight are still tracked: %v", l.inFlight)
	}
	if _, ok := (&HostLimiter{}).TryAcquire("a"); !ok {
		t.Fatal("no cap refused a render")
	}
}

// TestHostLimiterUnderContention: however many renders race for one host,
// no more than Max hold a slot at once, and every slot comes back.
func TestHostLimiterUnderContention(t *testing.T) {
	l := &HostLimiter{Max: 3}
	var inFlight, peak, done atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for done.Load() < 200 {
				release, ok := l.TryAcquire("busy")
				if !ok {
					runtime.Gosched()
					continue
				}
				n := inFlight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				runtime.Gosched()
				inFlight.Add(-1)
				release()
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 1 {
		t.Fatalf("peak in flight = %d, want 1..3", p)
	}
	if n := l.InFlight("busy"); n != 0 {
		t.Fatalf("%d slots leaked", n)
	}
}

// TestHostLimiterAll: a render counted under several keys (an origin's name
// and its addresses) takes a slot of each or of none, and a key given twice
// counts once.
func TestHostLimiterAll(t *testing.T) {
	l := &HostLimiter{Max: 1}
	release, ok := l.TryAcquireAll("shop.svc", "10.0.0.7", "10.0.0.7")
	if !ok {
		t.Fatal("the first render was put off")
	}
	if got := l.InFlight("10.0.0.7"); got != 1 {
		t.Errorf("10.0.0.7 has %d in flight, want 1 (a repeated key counts once)", got)
	}
	if _, ok := l.TryAcquireAll("other.svc", "10.0.0.7"); ok {
		t.Error("another name of 10.0.0.7 rendered past its cap")
	}
	if got := l.InFlight("other.svc"); got != 0 {
		t.Errorf("a refused render holds %d slots of other.svc, want none", got)
	}
	release()
	release()
	if got := l.InFlight("shop.svc") + l.InFlight("10.0.0.7"); got != 0 {
		t.Errorf("%d slots still held after release", got)
	}
	if _, ok := l.TryAcquireAll("other.svc", "10.0.0.7"); !ok {
		t.Error("put off once the address had room")
	}
}
