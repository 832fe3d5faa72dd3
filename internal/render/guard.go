package render

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Guard decides which addresses origins may be fetched from. Anyone who may
// create a StaticPage names a URL the manager fetches, so by default the
// manager refuses addresses that reach itself, the node or the cloud it
// runs in: loopback, link-local (most cloud metadata endpoints live at
// 169.254.169.254), unspecified, multicast, the cloud metadata endpoints
// that are not link-local (metadataPrefixes), any IPv6 address whose
// embedded IPv4 address would be refused (NAT64, 6to4, IPv4-compatible and
// IPv4-mapped forms), and the site's own ranges given to
// --deny-origin-cidrs. Private ranges stay allowed: in-cluster Services
// are the usual origins.
//
// An --allow-origin entry allows what it names although it is refused,
// with one rule for the site's ranges: a denied range gives way only to an
// entry narrower than it (a longer prefix, or a host name), so a site can
// deny a range and allow one Service inside it.
type Guard struct {
	allow []allowance
	deny  []netip.Prefix
}

// allowance is one --allow-origin entry.
type allowance struct {
	// host is a host name as origin URLs write it, lower case; "" when the
	// entry is an address or a CIDR.
	host string
	// prefix is the entry's addresses, when host is "".
	prefix netip.Prefix
	// port is the one port the entry allows; 0 allows every port.
	port uint16
}

// hostSpecificity ranks a host-name allowance above every prefix: it names
// one origin exactly.
const hostSpecificity = 129

// specificity is how narrow the entry is: its prefix length, or more than
// any prefix for a host name.
func (a allowance) specificity() int {
	if a.host != "" {
		return hostSpecificity
	}
	return a.prefix.Bits()
}

// covers reports whether the entry allows a connection to host (as the
// URL names it) at addr and port.
func (a allowance) covers(host string, port uint16, addr netip.Addr) bool {
	if a.port != 0 && a.port != port {
		return false
	}
	if a.host != "" {
		return a.host == host
	}
	return a.prefix.Contains(addr)
}

// metadataPrefixes are cloud metadata endpoints outside the link-local
// ranges: AWS's over IPv6, Oracle Cloud's over IPv6 and Alibaba Cloud's.
var metadataPrefixes = []netip.Prefix{
	netip.MustParsePrefix("fd00:ec2::254/128"),
	netip.MustParsePrefix("fd00:c1::a9fe:a9fe/128"),
	netip.MustParsePrefix("100.100.100.200/32"),
}

// NewGuard builds a guard that also allows the allow entries and refuses
// the deny CIDRs. An allow entry is a host name (matched against the origin
// URL's host, case-insensitively), an IP address or a CIDR, each with an
// optional port (127.0.0.1:8088, [::1]:8088, shop.svc:8080,
// 10.0.0.0/8:80, [fd00::/8]:80) that limits it to that port. A deny entry
// is a CIDR or an IP address.
func NewGuard(allow, deny []string) (*Guard, error) {
	g := &Guard{}
	for _, raw := range allow {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		a, err := parseAllowance(entry)
		if err != nil {
			return nil, err
		}
		g.allow = append(g.allow, a)
	}
	for _, raw := range deny {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		p, err := parsePrefix(entry)
		if err != nil {
			return nil, fmt.Errorf("denied origin range %q: %w", entry, err)
		}
		g.deny = append(g.deny, p)
	}
	return g, nil
}

// parseAllowance reads one --allow-origin entry.
func parseAllowance(entry string) (allowance, error) {
	if strings.Contains(entry, "://") {
		return allowance{}, fmt.Errorf("allowed origin %q is a URL; give its host name or IP, and a port if only that port is allowed", entry)
	}
	var a allowance
	name := entry
	// A bare IPv6 address has colons too: a port needs brackets ([::1]:80),
	// and SplitHostPort refuses the unbracketed form.
	if h, p, err := net.SplitHostPort(entry); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return allowance{}, fmt.Errorf("allowed origin %q has port %q, which is not a port number (1-65535)", entry, p)
		}
		name, a.port = h, uint16(n)
	}
	if strings.Contains(name, "/") {
		p, err := netip.ParsePrefix(name)
		if err != nil {
			return allowance{}, fmt.Errorf("allowed origin %q is not a valid CIDR: %w", entry, err)
		}
		a.prefix = unmapPrefix(p).Masked()
		return a, nil
	}
	if addr, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		addr = addr.Unmap()
		a.prefix = netip.PrefixFrom(addr, addr.BitLen())
		return a, nil
	}
	host := strings.ToLower(name)
	if errs := validation.IsDNS1123Subdomain(host); len(errs) > 0 {
		return allowance{}, fmt.Errorf("allowed origin %q is neither a host name, an IP address nor a CIDR, with an optional port: %s", entry, strings.Join(errs, "; "))
	}
	a.host = host
	return a, nil
}

// parsePrefix reads a CIDR or a single IP address (a full-length prefix).
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR or an IP address: %w", err)
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not a valid CIDR: %w", err)
	}
	return unmapPrefix(p).Masked(), nil
}

// unmapPrefix writes an IPv4-mapped prefix (::ffff:127.0.0.0/104) as the
// IPv4 prefix it means, because Check compares unmapped addresses.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4In6() || p.Bits() < 96 {
		return p
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
}

// Refusal classes: why an address is refused (RefusedError.Class).
const (
	ClassLoopback    = "loopback"
	ClassLinkLocal   = "link-local"
	ClassUnspecified = "unspecified"
	ClassMulticast   = "multicast"
	ClassMetadata    = "cloud metadata"
	// ClassDenied is an address in one of --deny-origin-cidrs.
	ClassDenied = "denied"
)

// RefusedError is a connection the guard did not let the manager make.
type RefusedError struct {
	// Host is the origin's host as its URL names it.
	Host string
	// Addr is the address it resolved to.
	Addr netip.Addr
	// Port is the port it was to be dialled at; 0 when unknown.
	Port uint16
	// Class says why the address is refused: ClassLoopback, ….
	Class string
	// Embedded is the IPv4 address Addr embeds (NAT64, 6to4,
	// IPv4-compatible), when the refusal is of that address; else invalid.
	Embedded netip.Addr
}

func (e *RefusedError) Error() string {
	what := "a " + e.Class + " address"
	if strings.ContainsRune("aeiou", rune(e.Class[0])) {
		what = "an " + e.Class + " address"
	}
	if e.Class == ClassDenied {
		what = "in a range of --deny-origin-cidrs"
	}
	if e.Embedded.IsValid() {
		what = fmt.Sprintf("an IPv6 form of %s (%s)", e.Embedded, what)
	}
	addr := e.allowValue(e.Addr.String())
	if a, err := netip.ParseAddr(strings.Trim(e.Host, "[]")); err == nil && a.Unmap() == e.Addr {
		return fmt.Sprintf("origin address %s is %s, which is refused; allow it with --allow-origin=%s", e.Addr, what, addr)
	}
	return fmt.Sprintf("origin host %s resolves to %s, %s, which is refused; allow it with --allow-origin=%s or --allow-origin=%s",
		e.Host, e.Addr, what, e.allowValue(e.Host), addr)
}

// allowValue is the --allow-origin entry that allows host at e's port
// alone.
func (e *RefusedError) allowValue(host string) string {
	host = strings.Trim(host, "[]")
	if e.Port == 0 {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(int(e.Port)))
}

// class names why an address is refused whatever the site configured, or
// "" when it is not.
func class(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return ClassLoopback
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return ClassLinkLocal
	case a.IsUnspecified():
		return ClassUnspecified
	case a.IsMulticast():
		return ClassMulticast
	}
	for _, p := range metadataPrefixes {
		if p.Contains(a) {
			return ClassMetadata
		}
	}
	return ""
}

// Prefixes of IPv6 addresses that carry an IPv4 address.
var (
	nat64Prefix     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFourPrefix = netip.MustParsePrefix("2002::/16")
	v4CompatPrefix  = netip.MustParsePrefix("::/96")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address carries and
// reaches, through a NAT64 gateway (64:ff9b::/96, RFC 6052), a 6to4 relay
// (2002::/16, RFC 3056) or as an IPv4-compatible address (::/96, RFC 4291);
// ok is false for any other address. IPv4-mapped addresses are unmapped
// before the guard looks at them.
func embeddedIPv4(a netip.Addr) (v4 netip.Addr, ok bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case nat64Prefix.Contains(a), v4CompatPrefix.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFourPrefix.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// refusal is why a is refused, and how narrow the refused range is: an
// allowance overrides a refusal only when it is narrower. The fixed classes
// have specificity -1, so any allowance that covers the address overrides
// them; a denied range has its prefix length.
func (g *Guard) refusal(a netip.Addr) (cls string, specificity int) {
	if c := class(a); c != "" {
		return c, -1
	}
	if g == nil {
		return "", 0
	}
	specificity = -1
	for _, p := range g.deny {
		if p.Contains(a) && p.Bits() > specificity {
			cls, specificity = ClassDenied, p.Bits()
		}
	}
	return cls, specificity
}

// allowed reports whether an allowance narrower than specificity covers
// host at addr and port.
func (g *Guard) allowed(specificity int, host string, port uint16, addr netip.Addr) bool {
	if g == nil {
		return false
	}
	for _, a := range g.allow {
		if a.specificity() > specificity && a.covers(host, port, addr) {
			return true
		}
	}
	return false
}

// Check returns a *RefusedError when host, resolved to addr, must not be
// fetched. It is the guard's whole decision, a pure function of the
// guard's entries and its arguments.
func (g *Guard) Check(host string, addr netip.AddrPort) error {
	// A prefix never contains a zoned address (fe80::1%eth0), so the zone
	// goes before the allow-list is consulted.
	a := addr.Addr().Unmap().WithZone("")
	port := addr.Port()
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if cls, spec := g.refusal(a); cls != "" && !g.allowed(spec, host, port, a) {
		return &RefusedError{Host: host, Addr: a, Port: port, Class: cls}
	}
	// The IPv4 address an IPv6 one carries is where the packets end up,
	// so it is checked as well. An allowance of that IPv4 address covers
	// it, and so does one of this very IPv6 address or its host name; an
	// allowance of a whole IPv6 range (64:ff9b::/96 to use NAT64) does
	// not, so it cannot open the metadata endpoint by the way.
	if v4, ok := embeddedIPv4(a); ok {
		if cls, spec := g.refusal(v4); cls != "" && !g.allowed(spec, host, port, v4) && !g.allowed(a.BitLen()-1, host, port, a) {
			return &RefusedError{Host: host, Addr: a, Port: port, Class: cls, Embedded: v4}
		}
	}
	return nil
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
			return g.Check(host, ap)
		}
		return guarded.DialContext(ctx, network, address)
	}
}

// ClientOptions shape the HTTP client that fetches origins.
type ClientOptions struct {
	// Guard checks every connection; nil refuses what every guard refuses
	// and allows nothing more.
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
