package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unsafe"

	"github.com/go-logr/logr"
	"github.com/valyala/fasthttp"
	"golang.org/x/net/http/httpguts"

	"github.com/isr-operator/isr-operator/internal/route"
)

// fastPages serves the page port on fasthttp, the page port's one server:
// a hit is written with one writev and allocates nothing. A GET or HEAD for a page held
// in memory is answered here, with the decisions of Handler.hit; every
// other request (a miss, another method, a cold or unavailable page, a
// target net/http would decode differently) goes to the Handler itself
// through netRequest, so those answers have one implementation.
type fastPages struct {
	h *Handler
	// shutdown says when to ask clients to reconnect elsewhere.
	shutdown *Shutdown
	// base is the parent of the contexts of the requests handed to h
	// (clientContext): they end when the listener's drain does or their
	// client leaves, as a net/http request's would.
	base context.Context
}

// serve is the fasthttp request handler.
func (f *fastPages) serve(ctx *fasthttp.RequestCtx) {
	if f.shutdown != nil && f.shutdown.Draining() {
		ctx.SetConnectionClose()
	}
	// net/http refuses such a request before any handler runs.
	if !httpguts.ValidHostHeader(b2s(ctx.Request.Header.Host())) {
		ctx.SetConnectionClose()
		ctx.Response.Header.SetContentType("text/plain; charset=utf-8")
		ctx.Response.SetStatusCode(http.StatusBadRequest)
		ctx.Response.SetBodyString("400 Bad Request: malformed Host header")
		return
	}
	// net/http's server answers this itself, whatever the handler.
	if ctx.IsOptions() && string(ctx.Request.Header.RequestURI()) == "*" {
		ctx.Response.Header.SetContentLength(0)
		return
	}
	if !f.serveHit(ctx) {
		f.delegate(ctx)
	}
}

// fastError answers a request fasthttp could not read with net/http's
// answer to it; fasthttp closes the connection after it.
func fastError(ctx *fasthttp.RequestCtx, err error) {
	code, msg := http.StatusBadRequest, "400 Bad Request"
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		code, msg = http.StatusRequestHeaderFieldsTooLarge, "431 Request Header Fields Too Large"
	case errors.As(err, &netErr) && netErr.Timeout():
		// net/http closes without an answer; a 408 says why.
		code, msg = http.StatusRequestTimeout, "408 Request Timeout"
	case strings.Contains(err.Error(), "missing required host header"):
		msg += ": missing required Host header"
	}
	ctx.Response.Header.SetContentType("text/plain; charset=utf-8")
	ctx.Response.SetStatusCode(code)
	ctx.Response.SetBodyString(msg)
}

// serveHit answers a GET or HEAD for a page held in memory, allocating
// nothing, and reports whether it did.
func (f *fastPages) serveHit(ctx *fasthttp.RequestCtx) bool {
	start := f.h.Clock.Now()
	req := &ctx.Request.Header
	if !req.IsGet() && !req.IsHead() {
		return false
	}
	path, ok := requestPath(req.RequestURI())
	if !ok {
		return false
	}
	e := f.h.Table.Lookup(b2s(req.Host()), path)
	if e == nil || e.cold || e.Unavailable {
		return false
	}
	// The values live in the request's buffers, for this request only;
	// the arrays keep them off the heap.
	var ae, inm, ims [2]string
	a := f.h.hit(e, start,
		headerValues(req, "Accept-Encoding", ae[:0]),
		headerValues(req, "If-None-Match", inm[:0]),
		headerValues(req, "If-Modified-Since", ims[:0]))
	resp := &ctx.Response
	a.setHeaders((*fastHeader)(&resp.Header))
	code := http.StatusOK
	if a.notModified {
		code = http.StatusNotModified
		resp.SetStatusCode(code)
	} else {
		// Not copied: entries are immutable, and fasthttp writes header
		// and body with one writev. A HEAD gets the Content-Length of the
		// body and not the body.
		resp.SetBodyRaw(a.rep.body)
	}
	a.count()
	observeServe(a.state(), code, f.h.Clock.Since(start))
	return true
}

// requestPath is the route an origin-form request target is served from,
// decoded exactly as net/http decodes r.URL.Path. ok is false for a target
// that is not origin-form or that net/http would refuse, which the Handler
// then answers as net/http does.
func requestPath(target []byte) (path string, ok bool) {
	if len(target) == 0 || target[0] != '/' {
		return "", false
	}
	for _, c := range target {
		// net/url refuses control characters anywhere in the target.
		if c < 0x20 || c == 0x7f {
			return "", false
		}
	}
	p := target
	if i := bytes.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if bytes.IndexByte(p, '%') < 0 {
		// Nothing to decode: net/url's path is the target's path.
		return b2s(p), true
	}
	decoded, err := route.RequestPath(string(p))
	return decoded, err == nil
}

// headerValues appends the values of a request header field to dst, as
// net/http's r.Header[key] lists them, valid for this request only.
func headerValues(h *fasthttp.RequestHeader, key string, dst []string) []string {
	for _, v := range h.PeekAll(key) {
		dst = append(dst, b2s(v))
	}
	return dst
}

// delegate answers through the net/http Handler.
func (f *fastPages) delegate(ctx *fasthttp.RequestCtx) {
	r, err := netRequest(ctx)
	if err != nil {
		// As net/http answers a target it cannot parse.
		ctx.SetConnectionClose()
		ctx.Response.Header.SetContentType("text/plain; charset=utf-8")
		ctx.Response.SetStatusCode(http.StatusBadRequest)
		ctx.Response.SetBodyString("400 Bad Request")
		return
	}
	w := &bufferedResponse{header: http.Header{}}
	rctx := newClientContext(f.base, ctx.Conn())
	f.h.ServeHTTP(w, r.WithContext(rctx))
	rctx.stop()
	w.copyTo(&ctx.Response)
}

// netRequest is ctx's request as net/http gives it to a handler. Every
// string is a copy: fasthttp reuses its buffers after the request, and the
// handler may hand a value to work that outlives it.
func netRequest(ctx *fasthttp.RequestCtx) (*http.Request, error) {
	h := &ctx.Request.Header
	target := string(h.RequestURI())
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("parsing the request target: %w", err)
	}
	r := &http.Request{
		Method:     string(h.Method()),
		URL:        u,
		Proto:      string(h.Protocol()),
		Header:     http.Header{},
		Host:       string(ctx.Host()),
		RemoteAddr: ctx.RemoteAddr().String(),
		RequestURI: target,
		Body:       http.NoBody,
	}
	var ok bool
	if r.ProtoMajor, r.ProtoMinor, ok = http.ParseHTTPVersion(r.Proto); !ok {
		r.ProtoMajor, r.ProtoMinor = 1, 1
	}
	for k, v := range h.All() {
		// net/http moves Host out of the header map.
		if string(k) == "Host" {
			continue
		}
		r.Header.Add(string(k), string(v))
	}
	if n := h.ContentLength(); n != 0 {
		// Streamed, never read into memory: no page answer reads a body.
		r.ContentLength = int64(n)
		r.Body = io.NopCloser(ctx.RequestBodyStream())
	}
	return r, nil
}

// bufferedResponse is a net/http ResponseWriter that keeps the response for
// fasthttp to send, with net/http's rules for what is sent.
type bufferedResponse struct {
	header http.Header
	// sent is the header as it was at WriteHeader, which is what net/http
	// sends.
	sent http.Header
	code int
	body []byte
}

// Header implements http.ResponseWriter.
func (w *bufferedResponse) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; informational codes are not
// kept, as a handler of the page port sends none.
func (w *bufferedResponse) WriteHeader(code int) {
	if w.code != 0 || code < 200 {
		return
	}
	w.code = code
	w.sent = w.header.Clone()
}

// Write implements http.ResponseWriter.
func (w *bufferedResponse) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// copyTo sets resp to the response. fasthttp frames it (Content-Length from
// the body, none for a 304) and leaves out the body of a HEAD or a 304.
func (w *bufferedResponse) copyTo(resp *fasthttp.Response) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	resp.SetStatusCode(w.code)
	for k, vs := range w.sent {
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	if _, ok := w.sent["Content-Type"]; !ok && bodyAllowed(w.code) && len(w.sent["Transfer-Encoding"]) == 0 {
		// net/http sniffs a body sent without a type.
		resp.Header.SetContentType(http.DetectContentType(w.body[:min(len(w.body), 512)]))
	}
	if len(w.body) > 0 {
		resp.SetBodyRaw(w.body)
	}
}

// bodyAllowed reports whether a response with code may have a body.
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// fastHeader is a fasthttp response's header. Every value the hit path
// sets has one element.
type fastHeader fasthttp.ResponseHeader

func (h *fastHeader) set(key string, value []string) {
	(*fasthttp.ResponseHeader)(h).SetCanonical(s2b(key), s2b(value[0]))
}

// fastLogger sends fasthttp's messages (connection errors) to the
// structured log, at debug level: clients cause them.
type fastLogger struct{ log logr.Logger }

// Printf implements fasthttp.Logger.
func (l fastLogger) Printf(format string, args ...any) {
	l.log.V(1).Info(fmt.Sprintf(format, args...))
}

// b2s is b as a string without a copy, valid while b is unchanged.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// s2b is s as bytes without a copy, for fasthttp calls that copy what
// they are given and never change it.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
