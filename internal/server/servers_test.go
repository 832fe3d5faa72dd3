package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// pageServers are the ways the tests reach a Handler: called directly, and
// over a loopback connection through each page-port server.
var pageServers = []string{"handler", HTTPServerNet, HTTPServerFast}

// forEachServer runs f once per page server, as a subtest; f's serve puts a
// handler behind that server and returns what the tests send requests to.
func forEachServer(t *testing.T, f func(t *testing.T, serve func(h *Handler) http.Handler)) {
	for _, kind := range pageServers {
		t.Run(kind, func(t *testing.T) {
			f(t, func(h *Handler) http.Handler {
				if kind == "handler" {
					return h
				}
				return &loopback{t: t, addr: startPageServer(t, kind, h, listenerLimits)}
			})
		})
	}
}

// startPageServer serves h with the page server kind on a loopback port
// until the test ends, and returns the address.
func startPageServer(t testing.TB, kind string, h *Handler, l connLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Shutdown{}
	var srv httpServer
	if kind == HTTPServerFast {
		srv = s.fastServer(h, context.Background(), l)
	} else {
		srv = s.netServer(h, context.Background(), l)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = ln.Close()
	})
	return ln.Addr().String()
}

// loopback is an http.Handler that sends each request to a server over
// keep-alive loopback connections, writing it as a client does, and
// copies the response as it came off the wire into the ResponseWriter.
type loopback struct {
	t    testing.TB
	addr string

	mu   sync.Mutex
	idle []*clientConn
}

// clientConn is a client's connection and its reader.
type clientConn struct {
	net.Conn
	r *bufio.Reader
}

// ServeHTTP implements http.Handler; it fails the test on a transport
// error or a header field sent twice (no answer of the page port repeats
// one).
func (l *loopback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := l.conn()
	if err != nil {
		l.t.Errorf("connecting for %s %s: %v", r.Method, r.URL, err)
		return
	}
	if err := r.Write(c); err != nil {
		l.t.Errorf("writing %s %s: %v", r.Method, r.URL, err)
		return
	}
	resp, err := http.ReadResponse(c.r, r)
	if err != nil {
		l.t.Errorf("reading the response to %s %s: %v", r.Method, r.URL, err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		l.t.Errorf("reading the body of %s %s: %v", r.Method, r.URL, err)
	}
	for k, vs := range resp.Header {
		if len(vs) > 1 {
			l.t.Errorf("%s %s: %s sent %d times: %q", r.Method, r.URL, k, len(vs), vs)
		}
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	if resp.Close {
		_ = c.Close()
		return
	}
	l.mu.Lock()
	l.idle = append(l.idle, c)
	l.mu.Unlock()
}

// conn returns an idle connection or a new one.
func (l *loopback) conn() (*clientConn, error) {
	l.mu.Lock()
	if n := len(l.idle); n > 0 {
		c := l.idle[n-1]
		l.idle = l.idle[:n-1]
		l.mu.Unlock()
		return c, nil
	}
	l.mu.Unlock()
	c, err := net.Dial("tcp", l.addr)
	if err != nil {
		return nil, err
	}
	l.t.Cleanup(func() { _ = c.Close() })
	return &clientConn{Conn: c, r: bufio.NewReader(c)}, nil
}
