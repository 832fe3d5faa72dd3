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

func TestGuardCheck(t *testing.T) {
	allowing, err := NewGuard([]string{"LocalHost", "10.1.0.0/16", "169.254.169.254", "[::1]"})
	if err != nil {
		t.Fatal(err)
	}
	linkLocal, err := NewGuard([]string{"fe80::/10", "::ffff:127.0.0.0/104"})
	if err != nil {
		t.Fatal(err)
	}
	// ::ffff:0.0.0.0/96 is every IPv4 address, written mapped.
	allIPv4, err := NewGuard([]string{"::ffff:0.0.0.0/96"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		guard *Guard
		host  string
		addr  string
		class string // "" = allowed
	}{
		{nil, "o", "127.0.0.1", "loopback"},
		{nil, "o", "127.5.6.7", "loopback"},
		{nil, "o", "::1", "loopback"},
		{nil, "o", "::ffff:127.0.0.1", "loopback"},
		{nil, "o", "169.254.169.254", "link-local"},
		{nil, "o", "fe80::1", "link-local"},
		{nil, "o", "0.0.0.0", "unspecified"},
		{nil, "o", "::", "unspecified"},
		{nil, "o", "239.1.2.3", "multicast"},
		{nil, "o", "10.1.2.3", ""},
		{nil, "o", "192.168.1.1", ""},
		{nil, "o", "93.184.216.34", ""},
		{nil, "o", "2606:2800:220:1::", ""},
		{&Guard{}, "o", "127.0.0.1", "loopback"},
		{allowing, "localhost", "127.0.0.1", ""},
		{allowing, "localhost.", "::1", ""},
		{allowing, "other", "127.0.0.1", "loopback"},
		{allowing, "other", "::1", ""},
		{allowing, "other", "::ffff:169.254.169.254", ""},
		{allowing, "other", "169.254.169.253", "link-local"},
		{nil, "o", "fe80::1%eth0", "link-local"},
		{linkLocal, "o", "fe80::1%eth0", ""},
		{linkLocal, "o", "127.0.0.9", ""},
		{linkLocal, "o", "::ffff:127.0.0.9", ""},
		{linkLocal, "o", "169.254.169.254", "link-local"},
		{allIPv4, "o", "127.0.0.1", ""},
		{allIPv4, "o", "169.254.169.254", ""},
		{allIPv4, "o", "::1", "loopback"},
	}
	for _, tt := range tests {
		err := tt.guard.Check(tt.host, netip.MustParseAddr(tt.addr))
		var refused *RefusedError
		switch {
		case tt.class == "" && err != nil:
			t.Errorf("%s -> %s: refused: %v", tt.host, tt.addr, err)
		case tt.class != "" && (!errors.As(err, &refused) || refused.Class != tt.class):
			t.Errorf("%s -> %s: err = %v, want %s refusal", tt.host, tt.addr, err, tt.class)
		}
	}
}

// TestRefusedErrorSaysWhatToAllow: a refusal names the address and its
// class, and the --allow-origin value that would allow it: the address
// itself when the URL gave it, else the host name or the address.
func TestRefusedErrorSaysWhatToAllow(t *testing.T) {
	metadata := netip.MustParseAddr("169.254.169.254")
	for _, tt := range []struct {
		err  *RefusedError
		want string
	}{
		{&RefusedError{Host: "169.254.169.254", Addr: metadata, Class: "link-local"},
			"origin address 169.254.169.254 is a link-local address, which is refused; allow it with --allow-origin=169.254.169.254"},
		{&RefusedError{Host: "[::1]", Addr: netip.MustParseAddr("::1"), Class: "loopback"},
			"origin address ::1 is a loopback address, which is refused; allow it with --allow-origin=::1"},
		{&RefusedError{Host: "0.0.0.0", Addr: netip.MustParseAddr("0.0.0.0"), Class: "unspecified"},
			"origin address 0.0.0.0 is an unspecified address, which is refused; allow it with --allow-origin=0.0.0.0"},
		{&RefusedError{Host: "metadata.internal", Addr: metadata, Class: "link-local"},
			"origin host metadata.internal resolves to link-local address 169.254.169.254, which is refused; allow it with --allow-origin=metadata.internal or --allow-origin=169.254.169.254"},
		{&RefusedError{Host: "192.0.2.1", Addr: metadata, Class: "link-local"},
			"origin host 192.0.2.1 resolves to link-local address 169.254.169.254, which is refused; allow it with --allow-origin=192.0.2.1 or --allow-origin=169.254.169.254"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestNewGuardRefusesBadEntries(t *testing.T) {
	for _, entry := range []string{"10.0.0.0/33", "not a host", "exa_mple.com", "1.2.3.4/x", "127.0.0.1:8088", "http://localhost"} {
		if _, err := NewGuard([]string{entry}); err == nil {
			t.Errorf("NewGuard(%q) accepted it", entry)
		}
	}
	for entry, says := range map[string]string{
		"127.0.0.1:8088":      `give "127.0.0.1" alone`,
		"[::1]:8088":          `give "::1" alone`,
		"shop.svc:80":         `give "shop.svc" alone`,
		"http://localhost":    "is a URL",
		"10.0.0.0/33":         "not a valid CIDR",
		"Exa_mple.com":        "neither a host name",
		"fe80::1%eth0/64/bad": "not a valid CIDR",
	} {
		if _, err := NewGuard([]string{entry}); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("NewGuard(%q) = %v, want an error saying %q", entry, err, says)
		}
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
	guard, err := NewGuard(allow)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{Client: NewClient(ClientOptions{Guard: guard, MaxRedirects: 2}), MaxBodyBytes: 1 << 20}
	_, err = f.Fetch(context.Background(), url, 5*time.Second)
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
