package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Revalidator asks the controller to re-render a page.
type Revalidator interface {
	// Revalidate sets the page's revalidate annotation to token.
	Revalidate(ctx context.Context, page types.NamespacedName, token string) error
}

// Handler serves pages from the table. It never waits on an origin or on
// the Kubernetes API for a page the table holds; only a request for a
// StaticPageSet's path with no page yet waits, in Fallback, for the page to
// be created and rendered.
type Handler struct {
	// Table holds the pages.
	Table *Table
	// Clock is the time source.
	Clock clock.PassiveClock
	// Revalidator is asked for a re-render on a stale hit in OnRequest
	// mode; nil disables that.
	Revalidator Revalidator
	// Log records failed revalidation requests.
	Log logr.Logger
	// BaseContext bounds background revalidation requests.
	BaseContext context.Context
	// Load gives a cold entry (over --cache-size, or not requested since
	// the start) its bodies; nil when every page is held.
	Load func(ctx context.Context, e *Entry) (*Entry, error)
	// Fallback answers requests the table has no page for whose path a
	// StaticPageSet's pattern matches, and records when the pages it
	// caused are served; nil answers them 404.
	Fallback *Fallback
}

var (
	allowHeader = []string{"GET, HEAD"}
	varyHeader  = []string{"Accept-Encoding"}
	nosniff     = []string{"nosniff"}
	textPlain   = []string{"text/plain; charset=utf-8"}
	retryAfter  = []string{"5"}
	// unavailableEntry answers for a page that could not be loaded.
	unavailableEntry = &Entry{Unavailable: true}
	noStore          = []string{"no-store"}
)

// ServeHTTP implements http.Handler, and times each answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.Clock.Now()
	state, code := h.serve(w, r, start)
	observeServe(state, code, h.Clock.Since(start))
}

// serve answers r, which arrived at now, and says from which cache state
// and with which status code.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, now time.Time) (state, code int) {
	hdr := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr["Allow"] = allowHeader
		plain(w, http.StatusMethodNotAllowed, "method not allowed\n")
		methodCounter.Inc()
		return cacheMiss, http.StatusMethodNotAllowed
	}
	state = cacheHit
	e := h.Table.Lookup(r.Host, r.URL.Path)
	if e == nil {
		if e, state, code = h.fallback(w, r); e == nil {
			return state, code
		}
	}
	if e.cold && h.Load != nil {
		// Over --cache-size: the bodies come back from the store, one load
		// however many requests wait.
		if state == cacheHit {
			state = cacheMiss
		}
		if loaded, err := h.Load(r.Context(), e); err == nil {
			e = loaded
		} else {
			h.Log.V(1).Info("loading a page from the store", "page", e.Page, "error", err.Error())
			e = unavailableEntry
		}
	}
	if e.Unavailable || e.cold {
		// The page exists; its store is down. Never a 404: a CDN would
		// cache that.
		hdr["Retry-After"] = retryAfter
		hdr["Cache-Control"] = noStore
		plain(w, http.StatusServiceUnavailable, "page temporarily unavailable\n")
		unavailableCounter.Inc()
		if state == cacheHit {
			state = cacheMiss
		}
		return state, http.StatusServiceUnavailable
	}
	a := h.hit(e, now, r.Header["Accept-Encoding"], r.Header["If-None-Match"], r.Header["If-Modified-Since"])
	if state == cacheHit {
		state = a.state()
	}
	a.setHeaders(netHeader(hdr))
	if a.notModified {
		w.WriteHeader(http.StatusNotModified)
		a.count()
		return state, http.StatusNotModified
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.rep.body)
	}
	a.count()
	return state, http.StatusOK
}

// fallback answers a request the table has no page for: through
// h.Fallback when a StaticPageSet's pattern matches its path, else 404. It
// returns the entry to serve, or nil with the status code once it has
// answered, and the request's cache state.
func (h *Handler) fallback(w http.ResponseWriter, r *http.Request) (e *Entry, state, code int) {
	if h.Fallback != nil {
		if out, matched := h.Fallback.resolve(r); matched {
			if out.decision == decServe {
				fallbackTotal.WithLabelValues(decisionResult[decServe]).Inc()
				return out.entry, cacheFallback, 0
			}
			if reason := refusalReason(out.decision); reason != "" {
				fallbackRefusals.WithLabelValues(out.set.Namespace, out.set.Name, reason).Inc()
			}
			cw := &codeWriter{ResponseWriter: w}
			answer(cw, out)
			return nil, cacheFallback, cw.code
		}
	}
	plain(w, http.StatusNotFound, "not found\n")
	missCounter.Inc()
	return nil, cacheMiss, http.StatusNotFound
}

// refusalReason is the reason label of isr_server_fallback_refusals_total
// for a decision that refuses a request because of the set's limits, or
// because the name of the path's page is taken, else "".
func refusalReason(d decision) string {
	if d == decFull || d == decRateLimited || d == decCollision {
		return decisionResult[d]
	}
	return ""
}

// codeWriter remembers the status code written through it.
type codeWriter struct {
	http.ResponseWriter
	code int
}

// WriteHeader implements http.ResponseWriter.
func (w *codeWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// trigger asks for one re-render of a stale OnRequest page, however many
// requests see it stale. A failed request is retried by a later hit. Every
// stale hit passes here, so the checks that end it allocate nothing and the
// flag is read before it is written: the request never waits on the
// re-render, nor on other requests for the same page.
func (h *Handler) trigger(e *Entry) {
	if h.Revalidator == nil || e.triggered.Load() || isToken(e.Annotation, e.RenderedAt()) {
		return
	}
	if !e.triggered.CompareAndSwap(false, true) {
		return
	}
	go func() {
		ctx := h.BaseContext
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := h.Revalidator.Revalidate(ctx, e.Page, e.RevalidateToken()); err != nil {
			h.Log.Error(err, "asking for a re-render of a stale page", "page", e.Page)
			revalidateRequests.WithLabelValues("error").Inc()
			// Let a later request try again.
			e.triggered.Store(false)
			return
		}
		revalidateRequests.WithLabelValues("ok").Inc()
	}()
}

// isToken reports whether annotation is the RevalidateToken of a render at
// renderedAt, without building the token.
func isToken(annotation string, renderedAt time.Time) bool {
	n, ok := strings.CutPrefix(annotation, tokenPrefix)
	if !ok {
		return false
	}
	var buf [20]byte
	return string(strconv.AppendInt(buf[:0], renderedAt.Unix(), 10)) == n
}

// statusHit is the Cache-Status of pages without an interval, which never
// changes.
var statusHit = []string{"isr-operator; hit"}

// cacheStatus is the RFC 9211 Cache-Status value: always a hit, with the
// remaining freshness as ttl (negative once stale).
func cacheStatus(stale bool, ttl time.Duration, timed bool) []string {
	if !timed {
		return statusHit
	}
	key := int64(ttl/time.Second) * 2
	if stale {
		key++
	}
	return statusValues.get(key, formatStatus)
}

// formatStatus is the timed Cache-Status value for a key made of the ttl in
// seconds, doubled, plus one when stale.
func formatStatus(key int64) string {
	s := "isr-operator; hit; ttl=" + strconv.FormatInt(key>>1, 10)
	if key&1 != 0 {
		s += "; detail=stale"
	}
	return s
}

// formatAge is the Age value for an age in seconds.
func formatAge(sec int64) string { return strconv.FormatInt(sec, 10) }

// notModified evaluates If-None-Match (any representation of the content
// matches) and, without it, If-Modified-Since, given the values of each.
func notModified(ifNoneMatch, ifModifiedSince []string, e *Entry) bool {
	if len(ifNoneMatch) > 0 {
		for _, v := range ifNoneMatch {
			// Walked with Cut, not Split: this runs on every revalidation.
			for rest := v; rest != ""; {
				var tag string
				tag, rest, _ = strings.Cut(rest, ",")
				tag = strings.TrimSpace(tag)
				tag = strings.TrimPrefix(tag, "W/")
				if tag == "*" {
					return true
				}
				for c, ok := range e.has {
					if ok && tag == e.reps[c].etag[0] {
						return true
					}
				}
			}
		}
		return false
	}
	if len(ifModifiedSince) > 0 && ifModifiedSince[0] != "" {
		t, err := http.ParseTime(ifModifiedSince[0])
		return err == nil && !e.lastModifiedTime.After(t)
	}
	return false
}

func plain(w http.ResponseWriter, code int, msg string) {
	w.Header()["Content-Type"] = textPlain
	w.Header()["X-Content-Type-Options"] = nosniff
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}
