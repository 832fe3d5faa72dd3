package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/storage"
)

// openConns is how many connections the listener holds.
func (ll *limitListener) openConns() int {
	ll.mu.Lock()
	defer ll.mu.Unlock()
	return ll.open
}

// startLimited serves h with the page server kind, within l, on a loopback
// port until the test ends, and returns the capped listener.
func startLimited(t *testing.T, kind string, h *Handler, l ConnLimits) *limitListener {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newLimitListener(tcp, l)
	s := &Shutdown{}
	var srv httpServer
	if kind == fastHTTP {
		srv = s.fastServer(h, context.Background(), l)
	} else {
		srv = s.netServer(h, context.Background(), l)
	}
	trackCloses(srv, ln)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = tcp.Close()
	})
	return ln
}

// TestConnectionCaps answers a connection over --max-connections with 503
// and one over --max-connections-per-client with 429, closing each, and
// accepts a new one once an open one is closed.
func TestConnectionCaps(t *testing.T) {
	for _, tc := range []struct {
		name      string
		total     int
		perClient int
		want      int
		reason    string
	}{
		{name: "max-connections", total: 2, want: http.StatusServiceUnavailable, reason: refusedMaxConnections},
		{name: "per-client", perClient: 2, want: http.StatusTooManyRequests, reason: refusedPerClient},
	} {
		for _, kind := range []string{netHTTP, fastHTTP} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				h, _, _ := newTestHandler(t)
				l := DefaultConnLimits()
				l.MaxConnections, l.MaxConnectionsPerClient = tc.total, tc.perClient
				ln := startLimited(t, kind, h, l)
				addr := ln.Addr().String()
				dial := func() (net.Conn, *bufio.Reader) {
					t.Helper()
					c, err := net.Dial("tcp", addr)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = c.Close() })
					_ = c.SetDeadline(time.Now().Add(hangGuard))
					return c, bufio.NewReader(c)
				}
				get := func(c net.Conn, r *bufio.Reader) *http.Response {
					t.Helper()
					if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
						t.Fatal(err)
					}
					resp, err := http.ReadResponse(r, &http.Request{Method: "GET"})
					if err != nil {
						t.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					return resp
				}
				first, firstR := dial()
				second, secondR := dial()
				for _, c := range []struct {
					c net.Conn
					r *bufio.Reader
				}{{first, firstR}, {second, secondR}} {
					if resp := get(c.c, c.r); resp.StatusCode != http.StatusOK {
						t.Fatalf("a connection within the cap: %d", resp.StatusCode)
					}
				}
				before := testutil.ToFloat64(connectionsRefused.WithLabelValues(tc.reason))

				// Answered at once, before the client sends anything.
				over, overR := dial()
				resp, err := http.ReadResponse(overR, &http.Request{Method: "GET"})
				if err != nil {
					t.Fatalf("a connection over the cap: %v", err)
				}
				if resp.StatusCode != tc.want || !resp.Close {
					t.Errorf("a connection over the cap: %d (close %v), want %d and close", resp.StatusCode, resp.Close, tc.want)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				if _, err := overR.ReadByte(); err == nil {
					t.Error("a connection over the cap was left open")
				}
				_ = over.Close()
				if got := testutil.ToFloat64(connectionsRefused.WithLabelValues(tc.reason)) - before; got != 1 {
					t.Errorf("isr_server_connections_refused_total{reason=%q} rose by %v, want 1", tc.reason, got)
				}

				// The held connections still serve; closing one frees its place.
				if resp := get(second, secondR); resp.StatusCode != http.StatusOK {
					t.Errorf("a held connection: %d", resp.StatusCode)
				}
				_ = first.Close()
				waitFor(t, func() bool { return ln.openConns() == 1 })
				again, againR := dial()
				if resp := get(again, againR); resp.StatusCode != http.StatusOK {
					t.Errorf("a connection after one closed: %d", resp.StatusCode)
				}
			})
		}
	}
}

// TestClientKey counts IPv4 addresses alone, IPv4-mapped ones as IPv4, and
// IPv6 addresses by their /64.
func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1:80", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::/64"},
		{"[fe80::1%eth0]:443", "fe80::/64"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := clientKey(addr); got != tc.want {
			t.Errorf("clientKey(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestAdmitPerClient caps each client key on its own, and the total over
// them.
func TestAdmitPerClient(t *testing.T) {
	ll := &limitListener{maxConns: 3, maxPerClient: 2, byClient: map[string]int{}}
	steps := []struct{ key, want string }{
		{"2001:db8:1:2::/64", ""},
		{"2001:db8:1:2::/64", ""},
		{"2001:db8:1:2::/64", refusedPerClient},
		{"192.0.2.1", ""},
		{"192.0.2.2", refusedMaxConnections},
	}
	for i, s := range steps {
		if got := ll.admit(s.key); got != s.want {
			t.Errorf("step %d (%s): %q, want %q", i, s.key, got, s.want)
		}
	}
	ll.release("2001:db8:1:2::/64")
	if got := ll.admit("192.0.2.2"); got != "" {
		t.Errorf("after a release: %q, want admitted", got)
	}
	ll.release("192.0.2.1")
	if _, ok := ll.byClient["192.0.2.1"]; ok {
		t.Error("a client with no connection left is still counted")
	}
}

// TestWriteTimeout closes a connection whose client does not read the
// response within the write timeout, freeing its place.
func TestWriteTimeout(t *testing.T) {
	// More than the socket buffers of both ends hold.
	big := bytes.Repeat([]byte("0123456789abcdef"), (32<<20)/16)
	for _, kind := range []string{netHTTP, fastHTTP} {
		t.Run(kind, func(t *testing.T) {
			h, _, _ := newTestHandler(t)
			p, _ := testPage("big", "", "/big", "", 0, pagesv1alpha1.RevalidateInterval)
			h.Table.Put(mustEntry(t, p, &storage.Object{Digest: digest.Of(big), ContentType: "application/octet-stream", Identity: big, StoredAt: t0}))
			l := DefaultConnLimits()
			l.WriteTimeout = 100 * time.Millisecond
			ln := startLimited(t, kind, h, l)
			d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) {
					_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
				})
			}}
			c, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			if _, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			// The first byte says the server took the connection and is
			// sending; then the client reads nothing until it has closed.
			_ = c.SetReadDeadline(time.Now().Add(hangGuard))
			var first [1]byte
			if _, err := io.ReadFull(c, first[:]); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return ln.openConns() == 0 })
			n, _ := io.Copy(io.Discard, c)
			if n+1 >= int64(len(big)) {
				t.Errorf("read %d bytes: the whole response was sent to a client that did not read", n)
			}
		})
	}
}

// TestListenersApplyLimits caps the connections of both listeners as
// cmd/server starts them: the page port's and the revalidate API's.
func TestListenersApplyLimits(t *testing.T) {
	for _, kind := range []string{netHTTP, fastHTTP} {
		t.Run(kind, func(t *testing.T) {
			h, _, _ := newTestHandler(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			_ = ln.Close()
			l := DefaultConnLimits()
			l.MaxConnections = 1
			s := &Shutdown{Limits: l}
			listener := s.PageListener(addr, h, nil)
			if kind == netHTTP {
				listener = s.Listener(addr, h, nil)
			}
			go func() { _ = listener.Start(t.Context()) }()
			var held net.Conn
			waitFor(t, func() bool {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					return false
				}
				held = c
				return true
			})
			defer func() { _ = held.Close() }()
			_ = held.SetDeadline(time.Now().Add(hangGuard))
			r := bufio.NewReader(held)
			if _, err := io.WriteString(held, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(r, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the first connection: %d", resp.StatusCode)
			}
			over, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = over.Close() }()
			_ = over.SetDeadline(time.Now().Add(hangGuard))
			resp, err = http.ReadResponse(bufio.NewReader(over), &http.Request{Method: "GET"})
			if err != nil {
				t.Fatalf("a second connection: %v", err)
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("a second connection: %d, want 503", resp.StatusCode)
			}
		})
	}
}
