package render

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Guard decides which addresses origins may be fetched from. Anyone who may
// create a StaticPage names a URL the manager fetches, so by default the
// manager refuses addresses that reach itself or the node: loopback,
// link-local (cloud metadata endpoints live at 169.254.169.254) and
// unspecified. Private ranges stay allowed: in-cluster Services are the
// usual origins.
type Guard struct {
	hosts map[string]bool
	nets  []netip.Prefix
}

// NewGuard builds a guard that also allows the given entries: host names
// (matched against the origin URL's host, case-insensitively), IP addresses
// or CIDRs.
func NewGuard(allow []string) (*Guard, error) {
	g := &Guard{hosts: map[string]bool{}}
	for _, raw := range allow {
		entry := strings.TrimSpace(raw)
		switch {
		case entry == "":
			continue
		case strings.Contains(entry, "://"):
			return nil, fmt.Errorf("allowed origin %q is a URL; give its host name or IP alone", entry)
		case strings.Contains(entry, "/"):
			p, err := netip.ParsePrefix(entry)
			if err != nil {
				return nil, fmt.Errorf("allowed origin %q is not a valid CIDR: %w", entry, err)
			}
			g.nets = append(g.nets, unmapPrefix(p).Masked())
		default:
			if a, err := netip.ParseAddr(strings.Trim(entry, "[]")); err == nil {
				a = a.Unmap()
				g.nets = append(g.nets, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			if h, _, err := net.SplitHostPort(entry); err == nil {
				return nil, fmt.Errorf("allowed origin %q names a port; give %q alone, which allows every port", entry, h)
			}
			host := strings.ToLower(entry)
			if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 {
				return nil, fmt.Errorf("allowed origin %q is neither a host name, an IP address nor a CIDR: %s", entry, strings.Join(errs, "; "))
			}
			g.hosts[host] = true
		}
	}
	return g, nil
}

// unmapPrefix writes an IPv4-mapped prefix (::ffff:127.0.0.0/104) as the
// IPv4 prefix it means, because Check compares unmapped addresses.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4In6() || p.Bits() < 96 {
		return p
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
}

// RefusedError is a connection the guard did not let the manager make.
type RefusedError struct {
	// Host is the origin's host as its URL names it.
	Host string
	// Addr is the address it resolved to.
	Addr netip.Addr
	// Class says why the address is refused: "loopback", "link-local", ….
	Class string
}

func (e *RefusedError) Error() string {
	if a, err := netip.ParseAddr(strings.Trim(e.Host, "[]")); err == nil && a.Unmap() == e.Addr {
		article := "a"
		if strings.ContainsRune("aeiou", rune(e.Class[0])) {
			article = "an"
		}
		return fmt.Sprintf("origin address %s is %s %s address, which is refused; allow it with --allow-origin=%s", e.Addr, article, e.Class, e.Addr)
	}
	return fmt.Sprintf("origin host %s resolves to %s address %s, which is refused; allow it with --allow-origin=%s or --allow-origin=%s",
		e.Host, e.Class, e.Addr, e.Host, e.Addr)
}

// forbidden names the class of a refused address, or "" when it is allowed
// whatever the allow-list says.
func forbidden(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast():
		return "multicast"
	}
	return ""
}

// Check returns a *RefusedError when host, resolved to addr, must not be
// fetched.
func (g *Guard) Check(host string, addr netip.Addr) error {
	// A prefix never contains a zoned address (fe80::1%eth0), so the zone
	// goes before the allow-list is consulted.
	addr = addr.Unmap().WithZone("")
	class := forbidden(addr)
	if class == "" {
		return nil
	}
	if g != nil {
		if g.hosts[strings.ToLower(strings.TrimSuffix(host, "."))] {
			return nil
		}
		for _, p := range g.nets {
			if p.Contains(addr) {
				return nil
			}
		}
	}
	return &RefusedError{Host: host, Addr: addr, Class: class}
}

// DialContext dials like net.Dialer but checks each address it actually
// connects to, after name resolution, so a name that resolves to a refused
// address (DNS rebinding included) is caught too.
func (g *Guard) DialContext(d *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		guarded := *d
		guarded.Control = func(_, resolved string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(resolved)
			if err != nil {
				return fmt.Errorf("checking origin address %q: %w", resolved, err)
			}
			return g.Check(host, ap.Addr())
		}
		return guarded.DialContext(ctx, network, address)
	}
}

// ClientOptions shape the HTTP client that fetches origins.
type ClientOptions struct {
	// Guard checks every connection; nil refuses loopback, link-local and
	// unspecified addresses and allows nothing more.
	Guard *Guard
	// MaxRedirects is how many redirects a fetch follows; 0 follows none.
	MaxRedirects int
}

// errRedirectScheme and errTooManyRedirects end a redirect chain.
var (
	errRedirectScheme   = errors.New("redirect to a scheme other than http or https")
	errTooManyRedirects = errors.New("too many redirects")
)

// NewClient returns the client origins are fetched with: every connection,
// redirects included, goes through the guard, and no proxy from the
// environment can carry a request past it.
func NewClient(opts ClientOptions) *http.Client {
	guard := opts.Guard
	if guard == nil {
		guard = &Guard{}
	}
	// Go's defaults, with no proxy and every dial through the guard.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.DialContext = guard.DialContext(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second})
	// Pages of one origin render a few at a time; keep their connections.
	transport.MaxIdleConnsPerHost = 4
	maxRedirects := opts.MaxRedirects
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("%w: %s", errRedirectScheme, req.URL.Redacted())
			}
			if len(via) > maxRedirects {
				return fmt.Errorf("%w: more than %d (--max-redirects)", errTooManyRedirects, maxRedirects)
			}
			return nil
		},
	}
}
