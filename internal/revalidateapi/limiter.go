package revalidateapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limiter rate-limits callers, a token bucket per client address.
type Limiter struct {
	// Rate is calls per second; 0 or less means no limit.
	Rate float64
	// Burst is the bucket size.
	Burst int

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

// Gate caps how many calls are in one stage at once.
type Gate struct {
	// Max is how many calls may be in the stage; 0 or less means no cap.
	Max int64

	n atomic.Int64
}

// Enter admits a call into the stage, or says it is full. release leaves
// the stage; calling it again does nothing, so it may be both called early
// and deferred. A nil Gate admits every call.
func (g *Gate) Enter() (release func(), ok bool) {
	if g == nil || g.Max <= 0 {
		return func() {}, true
	}
	if g.n.Add(1) > g.Max {
		g.n.Add(-1)
		return nil, false
	}
	var once sync.Once
	return func() { once.Do(func() { g.n.Add(-1) }) }, true
}

// InFlight is how many calls are in the stage.
func (g *Gate) InFlight() int64 { return g.n.Load() }

// maxClients is how many addresses the limiter remembers before it forgets
// those whose bucket has refilled, so that many addresses cannot grow it.
const maxClients = 10000

// Allow takes a token for addr at now, or says how long until one is free.
// IPv6 clients share a bucket per /64 (see bucketKey).
func (l *Limiter) Allow(addr string, now time.Time) (time.Duration, bool) {
	if l == nil || l.Rate <= 0 {
		return 0, true
	}
	addr = bucketKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clients == nil {
		l.clients = map[string]*rate.Limiter{}
	}
	if len(l.clients) >= maxClients {
		for k, lim := range l.clients {
			if lim.TokensAt(now) >= float64(l.Burst) {
				delete(l.clients, k)
			}
		}
	}
	lim, ok := l.clients[addr]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.Rate), l.Burst)
		l.clients[addr] = lim
	}
	if lim.AllowN(now, 1) {
		return 0, true
	}
	r := lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return wait, false
}

// bucketKey is what the rate limit keys a client address on: an IPv4
// address (IPv4-mapped ones unmapped) alone, an IPv6 address by its /64,
// because one host is usually given a whole /64 and could otherwise pick a
// new address, and a new bucket, per call. Anything else keys as it is.
func bucketKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// Proxies are the reverse proxies (an ingress controller, a CDN's edge)
// whose X-Forwarded-For is believed.
type Proxies []netip.Prefix

// ParseProxies reads --trusted-proxies entries: CIDRs or single addresses.
func ParseProxies(list []string) (Proxies, error) {
	var out Proxies
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// trusts is true when addr is one of the proxies.
func (p Proxies) trusts(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the address the rate limit and the logs key on: the
// connecting address, unless that is a trusted proxy, in which case the
// rightmost X-Forwarded-For address that is not a trusted proxy (what a
// client writes further left is not believed). With no trusted proxies,
// X-Forwarded-For is ignored.
func (p Proxies) ClientAddr(r *http.Request) string {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	if len(p) == 0 || !p.trusts(addr) {
		return addr
	}
	hops := r.Header.Values("X-Forwarded-For")
	for _, hop := range slices.Backward(hops) {
		items := strings.Split(hop, ",")
		for _, item := range slices.Backward(items) {
			hop := strings.TrimSpace(item)
			if hop == "" {
				continue
			}
			if !p.trusts(hop) {
				return hop
			}
			addr = hop
		}
	}
	// Every hop is a trusted proxy: the leftmost is the nearest thing to a
	// client there is.
	return addr
}
