package webhook

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/server"
)

// Path is where the API answers.
const Path = "/revalidate"

// Handler is the revalidate API: it authenticates a CMS, finds the pages a
// request names, sets their revalidate annotation and, if asked, waits until
// this server serves the new content.
type Handler struct {
	// Reader reads StaticPages and the credentials Secret, from the cache.
	Reader client.Reader
	// Writer patches the revalidate annotation.
	Writer client.Writer
	// Table is what this server serves; wait watches it.
	Table *server.Table
	// Secret names the Secret holding the credentials.
	Secret types.NamespacedName
	// Verifier checks credentials and remembers used signatures.
	Verifier *Verifier
	// Limiter rate-limits callers by address; nil means no limit.
	Limiter *Limiter
	// Namespaces are those the server serves pages from (empty: all): a
	// request naming another namespace matches nothing rather than failing.
	Namespaces []string
	// MaxBodyBytes caps a request body.
	MaxBodyBytes int64
	// PollInterval is how often wait looks at the cache.
	PollInterval time.Duration
	// Clock is the time source of signatures and tokens.
	Clock clock.PassiveClock
	// Log records refusals and what was revalidated.
	Log logr.Logger
}

// PageResult is one matched page in a response.
type PageResult struct {
	// Namespace and Name identify the StaticPage.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Host and Route are where the page is served.
	Host  string `json:"host,omitempty"`
	Route string `json:"route"`
	// Live is set with wait: true once this server serves the new render.
	Live *bool `json:"live,omitempty"`
	// Reason and Message are the page's Ready condition when it is not live.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Unmatched lists what a request named that no page answers to.
type Unmatched struct {
	// Paths are requested paths no page serves.
	Paths []string `json:"paths,omitempty"`
	// Names are requested StaticPage names that do not exist.
	Names []string `json:"names,omitempty"`
	// Selector is the requested selector when it matched no page.
	Selector string `json:"selector,omitempty"`
}

// Response is the JSON body of a successful call.
type Response struct {
	// Token is the annotation value set on every matched page.
	Token string `json:"token"`
	// Pages are the matched pages.
	Pages []PageResult `json:"pages"`
	// Unmatched is what matched nothing.
	Unmatched *Unmatched `json:"unmatched,omitempty"`
}

// errorBody is the JSON body of a refused call.
type errorBody struct {
	Error     string     `json:"error"`
	Unmatched *Unmatched `json:"unmatched,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code := h.serve(w, r)
	apiRequests.WithLabelValues(strconv.Itoa(code)).Inc()
}

// serve answers one call and returns its status code. Nothing is annotated
// unless every check passed.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) int {
	if r.URL.Path != Path {
		return h.fail(w, http.StatusNotFound, "no such endpoint; POST "+Path)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return h.fail(w, http.StatusMethodNotAllowed, "use POST")
	}
	caller := clientAddr(r)
	if wait, ok := h.Limiter.Allow(caller); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return h.fail(w, http.StatusTooManyRequests, "rate limit exceeded; retry later")
	}
	if r.ContentLength > h.MaxBodyBytes {
		return h.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over %d bytes", h.MaxBodyBytes))
	}
	// A client trickling its body must not hold a connection for ever. The
	// error only says when a ResponseWriter cannot set deadlines.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return h.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over %d bytes", h.MaxBodyBytes))
		}
		return h.fail(w, http.StatusBadRequest, "reading body: "+err.Error())
	}

	creds, err := h.credentials(r.Context())
	if err != nil {
		h.Log.Error(err, "reading the revalidate API credentials", "secret", h.Secret)
		return h.fail(w, http.StatusServiceUnavailable, "credentials cannot be read; try again later")
	}
	if err := h.Verifier.Verify(creds, r.Header, body, h.Clock.Now()); err != nil {
		if errors.Is(err, errNotConfigured) {
			h.Log.Info("refused a call: no credentials are configured", "secret", h.Secret, "client", caller)
			return h.fail(w, http.StatusForbidden, fmt.Sprintf("the revalidate API is off: Secret %s has no %q or %q key", h.Secret, TokenKey, HMACKey))
		}
		h.Log.Info("refused a call", "reason", err.Error(), "client", caller)
		w.Header().Set("WWW-Authenticate", `Bearer realm="isr-operator revalidate"`)
		return h.fail(w, http.StatusUnauthorized, err.Error())
	}

	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return h.fail(w, http.StatusUnsupportedMediaType, "send Content-Type: application/json")
		}
	}
	req, err := parseRequest(body)
	if err != nil {
		return h.fail(w, http.StatusBadRequest, err.Error())
	}

	pages, unmatched, err := h.match(r.Context(), req)
	if err != nil {
		h.Log.Error(err, "listing StaticPages")
		return h.fail(w, http.StatusServiceUnavailable, "pages cannot be listed; try again later")
	}
	if len(pages) == 0 {
		h.write(w, http.StatusNotFound, errorBody{Error: "no StaticPage matches the request", Unmatched: unmatched})
		return http.StatusNotFound
	}

	token := h.token()
	// A caller hanging up must not leave only some of the pages annotated.
	actx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), annotateTimeout)
	defer cancel()
	written := make([]string, len(pages))
	for i, p := range pages {
		rv, err := server.Annotate(actx, h.Writer, client.ObjectKeyFromObject(p), token)
		if err != nil {
			h.Log.Error(err, "annotating a StaticPage", "page", client.ObjectKeyFromObject(p), "token", token, "annotated", i)
			return h.fail(w, http.StatusServiceUnavailable, err.Error())
		}
		written[i] = rv
		annotatedPages.Inc()
	}
	h.Log.Info("revalidating", "token", token, "pages", len(pages), "client", caller, "wait", req.Wait)

	resp := Response{Token: token, Unmatched: unmatched}
	code := http.StatusAccepted
	if req.Wait {
		code = http.StatusOK
		start := time.Now()
		results := h.wait(r.Context(), pages, written, token, req.timeout)
		for _, res := range results {
			if !*res.Live {
				code = http.StatusGatewayTimeout
			}
		}
		outcome := "live"
		if code != http.StatusOK {
			outcome = "timeout"
		}
		waitSeconds.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
		resp.Pages = results
	} else {
		for _, p := range pages {
			resp.Pages = append(resp.Pages, result(p))
		}
	}
	h.write(w, code, resp)
	return code
}

// credentials reads the Secret; a missing Secret means no credentials.
func (h *Handler) credentials(ctx context.Context) (Credentials, error) {
	s := &corev1.Secret{}
	if err := h.Reader.Get(ctx, h.Secret, s); err != nil {
		if apierrors.IsNotFound(err) {
			return Credentials{}, nil
		}
		return Credentials{}, fmt.Errorf("reading Secret %s: %w", h.Secret, err)
	}
	return Credentials{Token: trimmed(s.Data[TokenKey]), HMACSecret: trimmed(s.Data[HMACKey])}, nil
}

// trimmed drops the trailing newline `kubectl create secret --from-file`
// often carries.
func trimmed(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// match finds the pages a request names, in a stable order. A path with a
// host names the page the server routes that URL to (the page for that
// host, else the page for any host) and the page it serves there now,
// which differ only while the first is unrendered or withdrawn; a path
// without a host names every page at that route.
func (h *Handler) match(ctx context.Context, req *parsed) ([]*pagesv1alpha1.StaticPage, *Unmatched, error) {
	unmatched := &Unmatched{}
	if req.Namespace != "" && len(h.Namespaces) > 0 && !slices.Contains(h.Namespaces, req.Namespace) {
		// Not a namespace this server sees: its pages are not served here.
		unmatched.Paths, unmatched.Names, unmatched.Selector = req.Paths, req.Names, req.Selector
		return nil, unmatched, nil
	}
	list := &pagesv1alpha1.StaticPageList{}
	var opts []client.ListOption
	if req.Namespace != "" {
		opts = append(opts, client.InNamespace(req.Namespace))
	}
	if err := h.Reader.List(ctx, list, opts...); err != nil {
		return nil, nil, err
	}
	items := slices.DeleteFunc(list.Items, func(p pagesv1alpha1.StaticPage) bool { return !p.DeletionTimestamp.IsZero() })
	found := map[types.NamespacedName]*pagesv1alpha1.StaticPage{}
	// One pass over the pages serves every path and name of the request.
	byRoute := map[string][]*pagesv1alpha1.StaticPage{}
	byName := map[string]*pagesv1alpha1.StaticPage{}
	idx := server.NewRouteIndex()
	for j := range items {
		p := &items[j]
		byRoute[p.Spec.Route] = append(byRoute[p.Spec.Route], p)
		if p.Namespace == req.Namespace {
			byName[p.Name] = p
		}
		if req.host != "" {
			idx.Add(p)
		}
	}
	for i, route := range req.routes {
		var owner, current types.NamespacedName
		if req.host != "" {
			owner, _ = idx.Lookup(req.host, route)
			if e := h.Table.Lookup(req.host, route); e != nil {
				current = e.Page
			}
		}
		any := false
		for _, p := range byRoute[route] {
			if key := client.ObjectKeyFromObject(p); req.host == "" || key == owner || key == current {
				found[key] = p
				any = true
			}
		}
		if !any {
			unmatched.Paths = append(unmatched.Paths, req.Paths[i])
		}
	}
	for _, name := range req.Names {
		if p, ok := byName[name]; ok {
			found[client.ObjectKeyFromObject(p)] = p
		} else {
			unmatched.Names = append(unmatched.Names, name)
		}
	}
	if req.selector != nil {
		any := false
		for i := range items {
			if p := &items[i]; req.selector.Matches(labels.Set(p.Labels)) {
				found[client.ObjectKeyFromObject(p)] = p
				any = true
			}
		}
		if !any {
			unmatched.Selector = req.Selector
		}
	}
	pages := make([]*pagesv1alpha1.StaticPage, 0, len(found))
	for _, p := range found {
		pages = append(pages, p)
	}
	slices.SortFunc(pages, func(a, b *pagesv1alpha1.StaticPage) int {
		if a.Namespace != b.Namespace {
			return cmp.Compare(a.Namespace, b.Namespace)
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if len(unmatched.Paths) == 0 && len(unmatched.Names) == 0 && unmatched.Selector == "" {
		unmatched = nil
	}
	return pages, unmatched, nil
}

// wait polls until every page's new render is served here, or timeout.
func (h *Handler) wait(ctx context.Context, pages []*pagesv1alpha1.StaticPage, written []string, token string, timeout time.Duration) []PageResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	results := make([]PageResult, len(pages))
	done := make([]bool, len(pages))
	poll := h.PollInterval
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		left := 0
		for i, p := range pages {
			if done[i] {
				continue
			}
			results[i] = h.look(ctx, p, token, written[i])
			if *results[i].Live {
				done[i] = true
			} else {
				left++
			}
		}
		if left == 0 {
			return results
		}
		select {
		case <-ctx.Done():
			return results
		case <-ticker.C:
		}
	}
}

// look says whether this server serves a render that handled token, or a
// later annotation, written at resourceVersion written.
func (h *Handler) look(ctx context.Context, page *pagesv1alpha1.StaticPage, token, written string) PageResult {
	res := result(page)
	live := false
	res.Live = &live
	current := &pagesv1alpha1.StaticPage{}
	if err := h.Reader.Get(ctx, client.ObjectKeyFromObject(page), current); err != nil {
		res.Reason, res.Message = "Unknown", err.Error()
		return res
	}
	// "Ready" and "Withdrawn" are the controller's condition type and reason.
	ready := meta.FindStatusCondition(current.Status.Conditions, "Ready")
	if ready != nil && ready.Status != metav1.ConditionTrue {
		res.Reason, res.Message = ready.Reason, ready.Message
	}
	if !handled(current, token, written) {
		if res.Reason == "" {
			res.Reason, res.Message = "Rendering", "the new render has not finished"
		}
		return res
	}
	entry := h.Table.Get(client.ObjectKeyFromObject(current))
	switch {
	case ready != nil && ready.Reason == "Withdrawn":
		// Withdrawn pages are live once this server answers 404 for them.
		live = entry == nil
	default:
		live = entry != nil && entry.Digest == current.Status.Digest
	}
	if live {
		res.Reason, res.Message = "", ""
	} else if res.Reason == "" {
		res.Reason, res.Message = "Loading", "rendered; this server has not loaded it yet"
	}
	return res
}

// handled reports whether p's status reflects a render asked for no earlier
// than the annotation write at resourceVersion written: the token itself,
// or a later value that replaced it before the controller got to it. Two
// calls in a row may be rendered once; both are then satisfied.
func handled(p *pagesv1alpha1.StaticPage, token, written string) bool {
	last := p.Status.LastHandledRevalidate
	if last == token {
		return true
	}
	ann := p.Annotations[pagesv1alpha1.RevalidateAnnotation]
	if ann == "" || ann == token || last != ann {
		return false
	}
	// In an object newer than the write, an annotation other than the token
	// was set after it. An API server whose resourceVersions do not compare
	// leaves only the exact token.
	cmp, err := resourceversion.CompareResourceVersion(p.ResourceVersion, written)
	return err == nil && cmp > 0
}

func result(p *pagesv1alpha1.StaticPage) PageResult {
	return PageResult{Namespace: p.Namespace, Name: p.Name, Host: p.Spec.Host, Route: p.Spec.Route}
}

// token is unique per call, so each call re-renders even if the previous
// one's render is still running.
func (h *Handler) token() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("api-%d-%s", h.Clock.Now().Unix(), hex.EncodeToString(b[:]))
}

func (h *Handler) fail(w http.ResponseWriter, code int, msg string) int {
	h.write(w, code, errorBody{Error: msg})
	return code
}

func (h *Handler) write(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// Time limits of the steps of a call that do not depend on its body.
const (
	// bodyReadTimeout bounds reading a body of at most MaxBodyBytes.
	bodyReadTimeout = 10 * time.Second
	// annotateTimeout bounds annotating every matched page.
	annotateTimeout = 30 * time.Second
)

// clientAddr is the connecting address the rate limit keys on.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Limiter is a token bucket per client address.
type Limiter struct {
	// Rate is requests per second; Burst the bucket size.
	Rate  float64
	Burst int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// Allow takes a token for addr, or says how long until one is free.
func (l *Limiter) Allow(addr string) (time.Duration, bool) {
	return l.allowAt(addr, time.Now())
}

func (l *Limiter) allowAt(addr string, now time.Time) (time.Duration, bool) {
	if l == nil || l.Rate <= 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	if len(l.buckets) > 10000 {
		// Forget full buckets so that many addresses cannot grow the map.
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.at).Seconds()*l.Rate >= float64(l.Burst) {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[addr]
	if !ok {
		b = &bucket{tokens: float64(l.Burst), at: now}
		l.buckets[addr] = b
	}
	b.tokens = min(float64(l.Burst), b.tokens+now.Sub(b.at).Seconds()*l.Rate)
	b.at = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.Rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}
