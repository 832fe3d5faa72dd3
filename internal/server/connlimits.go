package server

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// ConnLimits bound what clients may make a listener of the server (the page
// port and the revalidate API's port) hold. Each listener counts its own
// connections. The zero value stands for DefaultConnLimits.
type ConnLimits struct {
	// MaxConnections caps the open connections of a listener
	// (--max-connections); a connection beyond it is answered 503 and
	// closed at once. 0 means no cap.
	MaxConnections int
	// MaxConnectionsPerClient caps the open connections of a listener from
	// one client address, an IPv6 address counting by its /64
	// (--max-connections-per-client); a connection beyond it is answered
	// 429 and closed at once. The address is the connection's peer: behind
	// a proxy that is the proxy's. 0 means no cap.
	MaxConnectionsPerClient int
	// MaxHeaderBytes is the largest request header accepted, with 4096
	// bytes of slack as net/http allows (--max-header-bytes); a larger one
	// is answered 431.
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds the time from a request's first byte to the
	// end of its header (--read-header-timeout); past it the connection is
	// answered 408 and closed.
	ReadHeaderTimeout time.Duration
	// WriteTimeout bounds the sending of a response, from its first byte
	// to its last (--write-timeout), so that a client that does not read
	// holds its connection no longer; past it the connection is closed.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request (--idle-timeout).
	IdleTimeout time.Duration
}

// DefaultConnLimits are the flags' defaults.
func DefaultConnLimits() ConnLimits {
	return ConnLimits{
		MaxConnections:          10000,
		MaxConnectionsPerClient: 1000,
		MaxHeaderBytes:          16 << 10,
		ReadHeaderTimeout:       10 * time.Second,
		WriteTimeout:            60 * time.Second,
		IdleTimeout:             120 * time.Second,
	}
}

// BindFlags registers the connection limits' flags on fs, with l's values
// as defaults.
func (l *ConnLimits) BindFlags(fs *flag.FlagSet) {
	fs.IntVar(&l.MaxConnections, "max-connections", l.MaxConnections, "Open connections each listener (the page port, the revalidate API) accepts; one more is answered 503 and closed. 0 means no cap.")
	fs.IntVar(&l.MaxConnectionsPerClient, "max-connections-per-client", l.MaxConnectionsPerClient, "Open connections each listener accepts from one client address (an IPv6 address counts by its /64); one more is answered 429 and closed. The address is the connection's peer, so behind a proxy or ingress controller it is the proxy's: raise this or set 0 there. 0 means no cap, and no per-client share of a StaticPageSet's maxCreationRate.")
	fs.IntVar(&l.MaxHeaderBytes, "max-header-bytes", l.MaxHeaderBytes, "Largest request header accepted (plus 4096 bytes of slack), in bytes; a larger one is answered 431.")
	fs.DurationVar(&l.ReadHeaderTimeout, "read-header-timeout", l.ReadHeaderTimeout, "How long a client may take to send a request header; then it is answered 408 and closed.")
	fs.DurationVar(&l.WriteTimeout, "write-timeout", l.WriteTimeout, "How long the sending of a response may take, from its first byte to its last; then the connection is closed. Size it for the largest page and the slowest client to be served.")
	fs.DurationVar(&l.IdleTimeout, "idle-timeout", l.IdleTimeout, "How long a keep-alive connection may wait for its next request before it is closed.")
}

// Validate says, in terms of the flags, what is wrong with l. The zero
// value stands for DefaultConnLimits.
func (l ConnLimits) Validate() error {
	if l == (ConnLimits{}) {
		return nil
	}
	var errs []error
	if l.MaxConnections < 0 || l.MaxConnectionsPerClient < 0 {
		errs = append(errs, errors.New("--max-connections and --max-connections-per-client must not be negative"))
	}
	if l.MaxHeaderBytes < 1024 {
		errs = append(errs, fmt.Errorf("--max-header-bytes must be at least 1024, got %d", l.MaxHeaderBytes))
	}
	if l.ReadHeaderTimeout <= 0 || l.WriteTimeout <= 0 || l.IdleTimeout <= 0 {
		errs = append(errs, errors.New("--read-header-timeout, --write-timeout and --idle-timeout must be positive"))
	}
	return errors.Join(errs...)
}

// readBufferSize is the read buffer fasthttp needs for a header of
// MaxHeaderBytes: net/http reads MaxHeaderBytes plus 4096 bytes before
// refusing, and fasthttp needs the whole header in its buffer.
func (l ConnLimits) readBufferSize() int { return l.MaxHeaderBytes + 4096 }

// Reasons a connection is refused, the reason label of
// isr_server_connections_refused_total.
const (
	refusedMaxConnections = "max_connections"
	refusedPerClient      = "per_client"
)

// Answers written to a refused connection before it is closed.
var (
	refusedBusy            = refusal(http.StatusServiceUnavailable, "too many connections now\n")
	refusedPerClientAnswer = refusal(http.StatusTooManyRequests, "too many connections from this client\n")
)

// refusal is the whole answer to a refused connection.
func refusal(code int, msg string) []byte {
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s",
		code, http.StatusText(code), len(msg), msg)
}

// limitListener is a listener that holds its connections within
// ConnLimits' caps: a connection over a cap is answered and closed as soon
// as it is accepted, so that it holds no buffer and no goroutine.
//
// It hands the server the accepted connection itself, not a wrapper: a
// wrapped connection would cost fasthttp its single writev of header and
// body. The server reports the end of each connection through its
// ConnState hook (trackCloses), which frees its place.
type limitListener struct {
	net.Listener
	maxConns, maxPerClient int

	mu       sync.Mutex
	open     int
	byClient map[string]int
	// keys are the client keys of the admitted connections, by connection.
	keys map[net.Conn]string
}

// limitConnections wraps ln in the connection caps of l; with no cap it
// returns ln.
func limitConnections(ln net.Listener, l ConnLimits) net.Listener {
	if l.MaxConnections <= 0 && l.MaxConnectionsPerClient <= 0 {
		return ln
	}
	return newLimitListener(ln, l)
}

// newLimitListener is ln within the caps of l.
func newLimitListener(ln net.Listener, l ConnLimits) *limitListener {
	return &limitListener{Listener: ln, maxConns: l.MaxConnections, maxPerClient: l.MaxConnectionsPerClient,
		byClient: map[string]int{}, keys: map[net.Conn]string{}}
}

// Accept returns the next connection within the caps.
func (ll *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		reason := ll.admitConn(c)
		if reason == "" {
			return c, nil
		}
		connectionsRefused.WithLabelValues(reason).Inc()
		answer := refusedBusy
		if reason == refusedPerClient {
			answer = refusedPerClientAnswer
		}
		// A new connection's send buffer is empty: the answer does not
		// wait for the client, and the deadline only guards that.
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write(answer)
		_ = c.Close()
	}
}

// admit counts a connection from key, or says which cap refuses it.
func (ll *limitListener) admit(key string) (refused string) {
	ll.mu.Lock()
	defer ll.mu.Unlock()
	switch {
	case ll.maxConns > 0 && ll.open >= ll.maxConns:
		return refusedMaxConnections
	case ll.maxPerClient > 0 && ll.byClient[key] >= ll.maxPerClient:
		return refusedPerClient
	}
	ll.open++
	ll.byClient[key]++
	return ""
}

// release uncounts a connection from key.
func (ll *limitListener) release(key string) {
	ll.mu.Lock()
	defer ll.mu.Unlock()
	ll.open--
	if ll.byClient[key]--; ll.byClient[key] <= 0 {
		delete(ll.byClient, key)
	}
}

// admitConn counts c, or says which cap refuses it.
func (ll *limitListener) admitConn(c net.Conn) (refused string) {
	key := clientKey(c.RemoteAddr())
	if refused = ll.admit(key); refused == "" {
		ll.mu.Lock()
		ll.keys[c] = key
		ll.mu.Unlock()
	}
	return refused
}

// closed uncounts c, once, whenever the server reports it closed.
func (ll *limitListener) closed(c net.Conn) {
	ll.mu.Lock()
	key, ok := ll.keys[c]
	delete(ll.keys, c)
	ll.mu.Unlock()
	if ok {
		ll.release(key)
	}
}

// clientKey is what the per-client cap counts a peer address as: an IPv4
// address (IPv4-mapped ones unmapped) alone, an IPv6 address by its /64,
// which one host is usually given whole.
func clientKey(addr net.Addr) string {
	return clientAddrKey(addr.String())
}

// clientAddrKey is clientKey of an address written host:port, as a
// request's RemoteAddr is.
func clientAddrKey(addr string) string {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return addr
	}
	a := ap.Addr().Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// trackCloses has srv report each connection's end to ln, when ln holds
// caps: it frees the connection's place there.
func trackCloses(srv httpServer, ln net.Listener) {
	ll, ok := ln.(*limitListener)
	if !ok {
		return
	}
	switch s := srv.(type) {
	case fasthttpServer:
		s.ConnState = func(c net.Conn, state fasthttp.ConnState) {
			if state == fasthttp.StateClosed || state == fasthttp.StateHijacked {
				ll.closed(c)
			}
		}
	case *http.Server:
		s.ConnState = func(c net.Conn, state http.ConnState) {
			if state == http.StateClosed || state == http.StateHijacked {
				ll.closed(c)
			}
		}
	}
}

// maxRequestBody is the largest request body the page port reads (and
// discards: no page answer reads one); a larger one is answered 413.
const maxRequestBody = 64 << 10

// writeDeadline gives each response of h d to be sent, counted from its
// first byte (or from the handler's return, for a handler that writes
// nothing), as fasthttp's WriteTimeout does; 0 sets none.
func writeDeadline(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}
		// The previous response's deadline must not cut this one's wait.
		_ = dw.rc.SetWriteDeadline(time.Time{})
		defer dw.arm()
		h.ServeHTTP(dw, r)
	})
}

// deadlineWriter sets the write deadline at the response's first byte.
type deadlineWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	d     time.Duration
	armed bool
}

// arm sets the deadline once.
func (w *deadlineWriter) arm() {
	if !w.armed {
		w.armed = true
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	}
}

// WriteHeader implements http.ResponseWriter.
func (w *deadlineWriter) WriteHeader(code int) {
	w.arm()
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.arm()
	return w.ResponseWriter.Write(p)
}

// Unwrap is the ResponseWriter it wraps, for http.ResponseController.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
