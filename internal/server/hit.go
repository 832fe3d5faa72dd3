package server

import (
	"net/http"
	"time"
)

// hit is the answer to a GET or HEAD for a page held in memory, decided
// once for both page-port servers (net/http and fasthttp) so that they
// cannot drift apart: which representation, which header values, and
// whether it is a 304.
type hit struct {
	e   *Entry
	rep *representation
	// age and status are the Age and Cache-Status values.
	age, status []string
	stale       bool
	notModified bool
}

// hit decides the answer for a held entry e (neither cold nor unavailable),
// asked for at now, and a request's Accept-Encoding, If-None-Match and If-Modified-Since
// values. It marks e served, for the body cache and, for a page a
// StaticPageSet's request caused, for its expiry; it asks for a re-render
// of a stale OnRequest page. It allocates nothing.
func (h *Handler) hit(e *Entry, now time.Time, acceptEncoding, ifNoneMatch, ifModifiedSince []string) hit {
	if !e.referenced.Load() {
		e.referenced.Store(true)
	}
	stale, ttl := e.Stale(now)
	if stale && e.onRequest {
		h.trigger(e)
	}
	age := max(e.sinceRender(now), 0)
	a := hit{
		e:           e,
		rep:         &e.reps[negotiate(acceptEncoding, e.has)],
		age:         ageValues.get(int64(age/time.Second), formatAge),
		status:      cacheStatus(stale, ttl, e.Revalidate > 0),
		stale:       stale,
		notModified: notModified(ifNoneMatch, ifModifiedSince, e),
	}
	if !a.notModified && e.request != nil && h.Fallback != nil {
		// A page a request caused is kept while it is served.
		h.Fallback.touch(e, now)
	}
	return a
}

// headerSetter receives a response's header fields, under their canonical
// names; each server writes them its own way. The values are shared and
// must not be changed.
type headerSetter interface {
	set(key string, value []string)
}

// setHeaders gives w every header field of the answer: those of a 304,
// and for a 200 the ones describing the body too.
func (a *hit) setHeaders(w headerSetter) {
	w.set("Vary", varyHeader)
	w.set("Cache-Control", *a.e.cacheControl)
	if a.e.cdn != nil {
		for i := range *a.e.cdn {
			f := &(*a.e.cdn)[i]
			w.set(f.name, f.value)
		}
	}
	w.set("Age", a.age)
	w.set("Cache-Status", a.status)
	w.set("Last-Modified", a.e.lastModified)
	w.set("Etag", a.rep.etag)
	if a.notModified {
		return
	}
	w.set("Content-Type", a.e.contentType)
	w.set("X-Content-Type-Options", nosniff)
	if a.rep.contentEncoding != nil {
		w.set("Content-Encoding", a.rep.contentEncoding)
	}
	w.set("Content-Length", a.rep.length)
}

// count adds the answer to isr_server_requests_total.
func (a *hit) count() {
	switch {
	case a.notModified:
		notModifiedCounter.Inc()
	case a.stale:
		staleCounter.Inc()
	default:
		hitCounter.Inc()
	}
}

// state is the answer's cache state: hit or stale.
func (a *hit) state() int {
	if a.stale {
		return cacheStale
	}
	return cacheHit
}

// netHeader is a net/http response's header map.
type netHeader http.Header

func (h netHeader) set(key string, value []string) { h[key] = value }
