package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// The page-port servers the tests compare: net/http, which serves the
// Handler as it is and is the reference the answers are held to, and
// fasthttp, the page port's one production server (PageListener).
const (
	netHTTP  = "net"
	fastHTTP = "fasthttp"
)

// pageServers are the ways the tests reach a Handler: called directly, and
// over a loopback connection through each page-port server.
var pageServers = []string{"handler", netHTTP, fastHTTP}

// forEachServer runs f once per page server, as a subtest; f's serve puts a
// handler behind that server and returns what the tests send requests to.
func forEachServer(t *testing.T, f func(t *testing.T, serve func(h *Handler) http.Handler)) {
	for _, kind := range pageServers {
		t.Run(kind, func(t *testing.T) {
			f(t, func(h *Handler) http.Handler {
				if kind == "handler" {
					return h
				}
				return &loopback{t: t, addr: startPageServer(t, kind, h, DefaultConnLimits())}
			})
		})
	}
}

// startPageServer serves h with the page server kind on a loopback port
// until the test ends, and returns the address.
func startPageServer(t testing.TB, kind string, h *Handler, l ConnLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Shutdown{}
	var srv httpServer
	if kind == fastHTTP {
		srv = s.fastServer(h, context.Background(), l)
	} else {
		srv = s.netServer(h, context.Background(), l)
	}
	limited := limitConnections(ln, l)
	trackCloses(srv, limited)
	go func() { _ = srv.Serve(limited) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = ln.Close()
	})
	return ln.Addr().String()
}

// withTimeouts are the default limits with the read-header and idle
// timeouts given.
func withTimeouts(readHeader, idle time.Duration) ConnLimits {
	l := DefaultConnLimits()
	l.ReadHeaderTimeout, l.IdleTimeout = readHeader, idle
	return l
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

// exchange sends raw on a new connection to addr and reads one response
// to a request of method.
func exchange(t *testing.T, addr, method, raw string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%q: reading the body: %v", raw, err)
	}
	return resp, string(body)
}

// TestServersAgree sends the same requests, as they come off the wire, to
// net/http and fasthttp: the answers must be the same, header for header
// (but Date), including those of the paths fasthttp hands to the Handler.
func TestServersAgree(t *testing.T) {
	h, _, _ := newTestHandler(t)
	h.Table.Put(newTestEntry(t, "cafe", "", "/café", "<h1>café</h1>", time.Minute, pagesv1alpha1.RevalidateInterval))
	down, _ := testPage("down", "", "/down", "down", time.Minute, pagesv1alpha1.RevalidateInterval)
	h.Table.Put(unavailable(down, policy))
	// A page over --cache-size: its request loads the bodies, through the
	// Handler on both servers.
	held := newTestEntry(t, "cold", "", "/cold", homeBody, time.Minute, pagesv1alpha1.RevalidateInterval)
	h.Table.Put(held.coldCopy())
	h.Load = func(context.Context, *Entry) (*Entry, error) { return held, nil }
	etag := do(h, "GET", "http://x/", "Accept-Encoding", "br").Header().Get("Etag")
	addrs := map[string]string{}
	for _, kind := range []string{netHTTP, fastHTTP} {
		addrs[kind] = startPageServer(t, kind, h, DefaultConnLimits())
	}
	const host = "Host: x\r\n"
	for _, c := range []struct{ name, method, raw string }{
		{"identity", "GET", "GET / HTTP/1.1\r\n" + host + "\r\n"},
		{"gzip", "GET", "GET / HTTP/1.1\r\n" + host + "Accept-Encoding: gzip, deflate\r\n\r\n"},
		{"br", "GET", "GET / HTTP/1.1\r\n" + host + "Accept-Encoding: gzip, deflate, br, zstd\r\n\r\n"},
		{"Accept-Encoding twice", "GET", "GET / HTTP/1.1\r\n" + host + "Accept-Encoding: gzip;q=0.5\r\nAccept-Encoding: br;q=0.1, identity;q=0.9\r\n\r\n"},
		{"If-None-Match", "GET", "GET / HTTP/1.1\r\n" + host + "If-None-Match: \"other\", " + etag + "\r\n\r\n"},
		{"If-None-Match twice", "GET", "GET / HTTP/1.1\r\n" + host + "If-None-Match: \"other\"\r\nIf-None-Match: " + etag + "\r\n\r\n"},
		{"If-None-Match mismatch", "GET", "GET / HTTP/1.1\r\n" + host + "If-None-Match: \"other\"\r\n\r\n"},
		{"If-Modified-Since", "GET", "GET / HTTP/1.1\r\n" + host + "If-Modified-Since: Tue, 24 Nov 2026 11:59:00 GMT\r\n\r\n"},
		{"If-Modified-Since earlier", "GET", "GET / HTTP/1.1\r\n" + host + "If-Modified-Since: Tue, 24 Nov 2026 11:58:59 GMT\r\n\r\n"},
		{"HEAD", "HEAD", "HEAD / HTTP/1.1\r\n" + host + "\r\n"},
		{"HEAD 304", "HEAD", "HEAD / HTTP/1.1\r\n" + host + "If-None-Match: *\r\n\r\n"},
		{"host route", "GET", "GET / HTTP/1.1\r\nHost: SHOP.example.com.:8080\r\n\r\n"},
		{"query", "GET", "GET /lazy?utm=1&a=%zz HTTP/1.1\r\n" + host + "\r\n"},
		{"escaped route", "GET", "GET /caf%C3%A9 HTTP/1.1\r\n" + host + "\r\n"},
		{"escaped slash", "GET", "GET /%2F HTTP/1.1\r\n" + host + "\r\n"},
		{"bad escape", "GET", "GET /%zz HTTP/1.1\r\n" + host + "\r\n"},
		{"absolute form", "GET", "GET http://shop.example.com/ HTTP/1.1\r\nHost: other\r\n\r\n"},
		{"HTTP/1.0", "GET", "GET / HTTP/1.0\r\n\r\n"},
		{"HTTP/1.0 keep-alive", "GET", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
		{"Connection: close", "GET", "GET / HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"},
		{"miss", "GET", "GET /nope HTTP/1.1\r\n" + host + "\r\n"},
		{"HEAD miss", "HEAD", "HEAD /nope HTTP/1.1\r\n" + host + "\r\n"},
		{"trailing slash", "GET", "GET /lazy/ HTTP/1.1\r\n" + host + "\r\n"},
		{"unavailable", "GET", "GET /down HTTP/1.1\r\n" + host + "\r\n"},
		{"cold", "GET", "GET /cold HTTP/1.1\r\n" + host + "Accept-Encoding: br\r\n\r\n"},
		{"cold HEAD", "HEAD", "HEAD /cold HTTP/1.1\r\n" + host + "\r\n"},
		{"cold 304", "GET", "GET /cold HTTP/1.1\r\n" + host + "If-None-Match: *\r\n\r\n"},
		{"POST", "POST", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello"},
		{"OPTIONS *", "OPTIONS", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n"},
		{"DELETE", "DELETE", "DELETE / HTTP/1.1\r\n" + host + "\r\n"},
		{"missing Host", "GET", "GET / HTTP/1.1\r\n\r\n"},
		{"malformed Host", "GET", "GET / HTTP/1.1\r\nHost: a\"b\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			netResp, netBody := exchange(t, addrs[netHTTP], c.method, c.raw)
			fastResp, fastBody := exchange(t, addrs[fastHTTP], c.method, c.raw)
			if netResp.StatusCode != fastResp.StatusCode || netBody != fastBody {
				t.Errorf("net/http: %d %q; fasthttp: %d %q", netResp.StatusCode, netBody, fastResp.StatusCode, fastBody)
			}
			if netResp.Close != fastResp.Close {
				t.Errorf("closes the connection: net/http %v, fasthttp %v", netResp.Close, fastResp.Close)
			}
			netResp.Header.Del("Date")
			fastResp.Header.Del("Date")
			if netResp.Close && netResp.Header.Get("Content-Length") == "" {
				// net/http ends an error's body by closing; fasthttp
				// frames it as well.
				fastResp.Header.Del("Content-Length")
			}
			if !reflect.DeepEqual(netResp.Header, fastResp.Header) {
				t.Errorf("headers differ:\nnet/http %v\nfasthttp %v", netResp.Header, fastResp.Header)
			}
		})
	}
}

// TestKeepAliveAndPipelining serves several requests on one connection,
// one after another and then two written before either answer is read.
func TestKeepAliveAndPipelining(t *testing.T) {
	for _, kind := range []string{netHTTP, fastHTTP} {
		t.Run(kind, func(t *testing.T) {
			h, _, _ := newTestHandler(t)
			c, err := net.Dial("tcp", startPageServer(t, kind, h, DefaultConnLimits()))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			read := func(method, want string) {
				t.Helper()
				resp, err := http.ReadResponse(r, &http.Request{Method: method})
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != http.StatusOK || string(body) != want || resp.Close {
					t.Fatalf("%s: %d %q (close %v), %v", method, resp.StatusCode, body, resp.Close, err)
				}
			}
			for range 3 {
				if _, err := io.WriteString(c, "GET /lazy HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				read("GET", lazyBody)
			}
			pipelined := "GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD /manual HTTP/1.1\r\nHost: x\r\n\r\nGET /manual HTTP/1.1\r\nHost: x\r\n\r\n"
			if _, err := io.WriteString(c, pipelined); err != nil {
				t.Fatal(err)
			}
			read("GET", homeBody)
			read("HEAD", "")
			read("GET", manualBody)
		})
	}
}

// TestHeaderLimits accepts a request header up to the limit (16 KiB by
// default, with net/http's 4 KiB of slack) and refuses a larger one with
// 431.
func TestHeaderLimits(t *testing.T) {
	limit := DefaultConnLimits().readBufferSize()
	if limit != 20<<10 {
		t.Fatalf("the default header limit with its slack is %d bytes, want 20 KiB", limit)
	}
	head := func(n int) string {
		const start = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
		return start + strings.Repeat("a", n-len(start))
	}
	for _, kind := range []string{netHTTP, fastHTTP} {
		t.Run(kind, func(t *testing.T) {
			h, _, _ := newTestHandler(t)
			addr := startPageServer(t, kind, h, DefaultConnLimits())
			if resp, _ := exchange(t, addr, "GET", head(limit-100)+"\r\n\r\n"); resp.StatusCode != http.StatusOK {
				t.Errorf("a header of %d bytes: %d, want 200", limit-96, resp.StatusCode)
			}
			// Exactly the limit, without the end of the header: the
			// server reads it all, so its answer is not lost to a reset.
			if resp, _ := exchange(t, addr, "GET", head(limit)); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !resp.Close {
				t.Errorf("a header over %d bytes: %d (close %v), want 431 and close", limit, resp.StatusCode, resp.Close)
			}
		})
	}
}

// TestConnectionTimeouts closes a connection whose request header is not
// complete within the read-header timeout, and one idle for longer than
// the idle timeout, but not a keep-alive connection idle past the
// read-header timeout.
func TestConnectionTimeouts(t *testing.T) {
	for _, kind := range []string{netHTTP, fastHTTP} {
		t.Run(kind, func(t *testing.T) {
			// closed reads c until the server closes it; the deadline is a
			// hang guard, and a connection still open then fails the test.
			closed := func(c net.Conn) bool {
				_ = c.SetReadDeadline(time.Now().Add(hangGuard))
				_, err := io.Copy(io.Discard, c)
				var netErr net.Error
				return !errors.As(err, &netErr) || !netErr.Timeout()
			}
			dial := func(addr string) net.Conn {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				return c
			}
			request := func(c net.Conn, r *bufio.Reader) {
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(r, &http.Request{Method: "GET"})
				if err != nil {
					t.Fatalf("a keep-alive connection: %v", err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("a keep-alive connection: %d", resp.StatusCode)
				}
			}

			// A short read-header timeout and an idle one no test outlasts.
			h, _, _ := newTestHandler(t)
			addr := startPageServer(t, kind, h, withTimeouts(200*time.Millisecond, time.Hour))
			idle := dial(addr)
			r := bufio.NewReader(idle)
			request(idle, r)
			// Opened once idle is idle: when the server closes it for its
			// unfinished header, idle has been idle past that timeout.
			slow := dial(addr)
			if _, err := io.WriteString(slow, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
				t.Fatal(err)
			}
			if !closed(slow) {
				t.Error("an unfinished header kept its connection open")
			}
			request(idle, r)

			// A short idle timeout closes an idle connection.
			h, _, _ = newTestHandler(t)
			addr = startPageServer(t, kind, h, withTimeouts(time.Hour, 200*time.Millisecond))
			idle = dial(addr)
			request(idle, bufio.NewReader(idle))
			if !closed(idle) {
				t.Error("an idle connection stayed open past the idle timeout")
			}
		})
	}
}
