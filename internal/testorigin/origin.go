// Package testorigin is a real HTTP origin for the envtest suites: a
// loopback server whose answers a spec can change while pages render from
// it, and which counts what it was asked.
package testorigin

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onsi/ginkgo/v2"
)

// Origin answers every GET with its current status and body.
type Origin struct {
	*httptest.Server

	mu       sync.Mutex
	status   int
	body     string
	delay    time.Duration
	counting bool
	ctype    string
	header   http.Header
	held     chan struct{} // closed to let held requests answer
	// redirects map request paths to where they answer 301 to.
	redirects map[string]string

	// paths are the request URIs asked for, in order.
	paths []string

	hits     atomic.Int32
	inflight atomic.Int32
	peak     atomic.Int32
}

// New starts an origin answering 200 with body; it stops when the spec ends.
func New(body string) *Origin {
	o := &Origin{status: http.StatusOK, body: body, ctype: "text/html; charset=utf-8"}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	ginkgo.DeferCleanup(o.Close)
	return o
}

// NewAt is New listening on another loopback address than 127.0.0.1 (such
// as 127.0.0.2): another origin host to the per-host cap, which counts
// hosts by address and not by port.
func NewAt(ip, body string) *Origin {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		ginkgo.Fail(fmt.Sprintf("listening on %s: %v", ip, err))
	}
	o := &Origin{status: http.StatusOK, body: body, ctype: "text/html; charset=utf-8"}
	o.Server = httptest.NewUnstartedServer(http.HandlerFunc(o.serve))
	_ = o.Listener.Close()
	o.Listener = ln
	o.Start()
	ginkgo.DeferCleanup(o.Close)
	return o
}

func (o *Origin) serve(w http.ResponseWriter, r *http.Request) {
	n := o.hits.Add(1)
	now := o.inflight.Add(1)
	defer o.inflight.Add(-1)
	for {
		peak := o.peak.Load()
		if now <= peak || o.peak.CompareAndSwap(peak, now) {
			break
		}
	}
	o.mu.Lock()
	o.paths = append(o.paths, r.URL.RequestURI())
	status, body, delay, counting, ctype, held := o.status, o.body, o.delay, o.counting, o.ctype, o.held
	maps.Copy(w.Header(), o.header)
	to, redirect := o.redirects[r.URL.Path]
	o.mu.Unlock()
	if redirect {
		http.Redirect(w, r, to, http.StatusMovedPermanently)
		return
	}
	if held != nil {
		select {
		case <-held:
		case <-r.Context().Done():
			return
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if counting {
		body = fmt.Sprintf("%s #%d", body, n)
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// Set changes the status and body of later answers.
func (o *Origin) Set(status int, body string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.status, o.body = status, body
}

// Redirect makes later requests for path answer 301 with Location to (a
// path or a URL), as an origin that canonicalises its URLs does.
func (o *Origin) Redirect(path, to string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.redirects == nil {
		o.redirects = map[string]string{}
	}
	o.redirects[path] = to
}

// SetDelay makes later answers wait d first.
func (o *Origin) SetDelay(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.delay = d
}

// SetContentType changes the Content-Type of later answers.
func (o *Origin) SetContentType(ct string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ctype = ct
}

// SetHeader makes later answers carry header key with the given values
// (none removes it).
func (o *Origin) SetHeader(key string, values ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.header == nil {
		o.header = http.Header{}
	}
	o.header[http.CanonicalHeaderKey(key)] = values
}

// SetCounting appends the hit number to each body, so that every render is
// new content.
func (o *Origin) SetCounting(on bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.counting = on
}

// Hold makes later requests wait, in flight, until release is called, so a
// spec can look at the controller while renders are under way. The spec's
// end releases them.
func (o *Origin) Hold() (release func()) {
	held := make(chan struct{})
	o.mu.Lock()
	o.held = held
	o.mu.Unlock()
	release = sync.OnceFunc(func() { close(held) })
	// Cleanups run last-registered first: held requests are let go before
	// Close waits for them.
	ginkgo.DeferCleanup(release)
	return release
}

// InFlight is how many requests are being answered now.
func (o *Origin) InFlight() int { return int(o.inflight.Load()) }

// Count is how many requests arrived.
func (o *Origin) Count() int { return int(o.hits.Load()) }

// Peak is the most requests that were in flight at once.
func (o *Origin) Peak() int { return int(o.peak.Load()) }

// Paths are the request URIs (path and query, as sent) the origin was
// asked for, in order.
func (o *Origin) Paths() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.paths...)
}

// CountPath is how many requests asked for uri (path and query, as sent).
func (o *Origin) CountPath(uri string) int {
	n := 0
	for _, p := range o.Paths() {
		if p == uri {
			n++
		}
	}
	return n
}
