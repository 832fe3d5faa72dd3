package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/revalidateapi"
	"github.com/isr-operator/isr-operator/internal/webhook/signature"
)

// PathIndex indexes WebhookReceivers by status.path in the server's cache.
const PathIndex = "status.path"

// Handler serves POST /hook/<digest> on the revalidate API's port: it finds
// the receiver at that path, verifies the delivery with the receiver's
// signature scheme, claims it once cluster-wide, evaluates the rules and
// revalidates what they name through the revalidate API. Nothing is
// revalidated unless every step passed.
type Handler struct {
	// Reader reads receivers from the cache, indexed by PathIndex.
	Reader client.Reader
	// Secrets reads a receiver's Secret from the API server, once per
	// path: a rotated Secret changes the path the manager publishes.
	Secrets client.Reader
	// API revalidates, matches pages and holds the limits the API applies
	// (MaxBodyBytes, Unauthenticated, Replays, Proxies); set before the
	// first delivery.
	API *revalidateapi.Handler
	// Status records deliveries in the receivers' status, throttled.
	Status *StatusBook
	// Clock is the time source of signatures and spec.delay.
	Clock clock.Clock
	// Log records refused deliveries and failures.
	Log logr.Logger

	mu sync.Mutex
	// receivers holds what was built for each receiver: its Secret for
	// its path, and its rules for its generation.
	receivers map[types.UID]*built
}

// built is what the handler keeps of one receiver.
type built struct {
	// path is the status.path secret was read for.
	path   string
	secret signature.Secret
	// generation is the generation rules were compiled for.
	generation int64
	rules      *Rules
}

// answer is a delivery's outcome and its response.
type answer struct {
	code    int
	outcome pagesv1alpha1.WebhookOutcome
	msg     string
	// pages is how many pages were revalidated.
	pages int
	// resp is the body of a verified delivery's answer.
	resp *Response
}

// Response is the JSON body of a verified delivery's answer.
type Response struct {
	// Outcome is Accepted or NoMatch.
	Outcome pagesv1alpha1.WebhookOutcome `json:"outcome"`
	// Token is the annotation value set on the matched pages.
	Token string `json:"token,omitempty"`
	// Pages are the pages revalidated.
	Pages []revalidateapi.PageResult `json:"pages"`
	// Unmatched is what the rules named that no page answers to.
	Unmatched *revalidateapi.Unmatched `json:"unmatched,omitempty"`
}

// errorBody is the JSON body of a refused delivery.
type errorBody struct {
	Outcome pagesv1alpha1.WebhookOutcome `json:"outcome,omitempty"`
	Error   string                       `json:"error"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	whr, a := h.serve(w, r)
	if whr == nil {
		outcome := outcomeUnknownPath
		if a.code != http.StatusNotFound {
			outcome = string(pagesv1alpha1.OutcomeFailed)
		}
		deliveries.WithLabelValues("", "", outcome).Inc()
	} else {
		deliveries.WithLabelValues(whr.Namespace, whr.Name, string(a.outcome)).Inc()
		h.Status.Record(whr, a.outcome, a.pages, a.msg, h.Clock.Now())
		if a.outcome.Refused() {
			h.Log.Info("refused a delivery", "receiver", client.ObjectKeyFromObject(whr), "outcome", a.outcome,
				"reason", a.msg, "client", h.API.Proxies.ClientAddr(r))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(a.code)
	if a.resp != nil {
		_ = json.NewEncoder(w).Encode(a.resp)
	} else {
		_ = json.NewEncoder(w).Encode(errorBody{Outcome: a.outcome, Error: a.msg})
	}
}

// refused is the answer to a delivery refused with outcome o.
func refused(code int, o pagesv1alpha1.WebhookOutcome, msg string) answer {
	return answer{code: code, outcome: o, msg: msg}
}

// serve handles one delivery; the receiver is nil when the path names
// none.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (*pagesv1alpha1.WebhookReceiver, answer) {
	path := r.URL.Path
	whr, err := h.lookup(r.Context(), path)
	if err != nil {
		h.Log.Error(err, "looking up a WebhookReceiver")
		return nil, refused(http.StatusServiceUnavailable, "", "receivers cannot be read; try again later")
	}
	if whr == nil {
		return nil, refused(http.StatusNotFound, "", "no receiver at this path")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return whr, refused(http.StatusMethodNotAllowed, pagesv1alpha1.OutcomeInvalidPayload, "use POST")
	}
	if msg, ready := readyMessage(whr); !ready {
		w.Header().Set("Retry-After", "10")
		return whr, refused(http.StatusServiceUnavailable, pagesv1alpha1.OutcomeNotReady, "the receiver is not ready: "+msg)
	}
	// Deliveries not yet verified are capped, as the API's calls are.
	release, ok := h.API.Unauthenticated.Enter()
	if !ok {
		w.Header().Set("Retry-After", "1")
		return whr, refused(http.StatusServiceUnavailable, pagesv1alpha1.OutcomeFailed, "too many deliveries are being verified; retry later")
	}
	defer release()
	b, err := h.build(r.Context(), whr)
	switch {
	case errors.Is(err, errPathMoved):
		return nil, refused(http.StatusNotFound, "", "no receiver at this path")
	case errors.Is(err, ErrSecretInvalid) || errors.Is(err, errCompile):
		return whr, refused(http.StatusServiceUnavailable, pagesv1alpha1.OutcomeNotReady, "the receiver is not ready: "+err.Error())
	case err != nil:
		h.Log.Error(err, "reading a WebhookReceiver's Secret", "receiver", client.ObjectKeyFromObject(whr))
		return whr, refused(http.StatusServiceUnavailable, pagesv1alpha1.OutcomeFailed, "the receiver's Secret cannot be read; try again later")
	}
	typ, window := signature.Type(whr.Spec.Type), windowOf(whr)
	// Headers are checked before a byte of the body is read.
	if err := signature.Precheck(typ, b.secret, r.Header, h.Clock.Now(), window); err != nil {
		return whr, verifyRefusal(err)
	}
	limit := h.API.MaxBodyBytes
	if r.ContentLength > limit {
		return whr, refused(http.StatusRequestEntityTooLarge, pagesv1alpha1.OutcomeInvalidPayload, fmt.Sprintf("body is over %d bytes", limit))
	}
	// A sender trickling its body must not hold a connection for ever.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return whr, refused(http.StatusRequestEntityTooLarge, pagesv1alpha1.OutcomeInvalidPayload, fmt.Sprintf("body is over %d bytes", limit))
		}
		return whr, refused(http.StatusBadRequest, pagesv1alpha1.OutcomeInvalidPayload, "reading body: "+err.Error())
	}
	v, err := signature.Verify(typ, b.secret, signature.Delivery{Method: r.Method, Path: requestPath(r), Header: r.Header, Body: body}, h.Clock.Now(), window)
	if err != nil {
		return whr, verifyRefusal(err)
	}
	release()

	// Verified: the rules are evaluated before the delivery is claimed, so
	// that a sender retrying a delivery its rules failed on is told why
	// again, not that it was seen.
	targets, err := h.evaluate(r.Context(), b.rules, r, body)
	if err != nil {
		return whr, refused(http.StatusUnprocessableEntity, pagesv1alpha1.OutcomeInvalidPayload, err.Error())
	}
	if code, msg, err := h.claim(r.Context(), whr, typ, v, window); err != nil {
		if code != http.StatusConflict {
			h.Log.Error(err, "recording a delivery", "receiver", client.ObjectKeyFromObject(whr))
			return whr, refused(code, pagesv1alpha1.OutcomeFailed, msg)
		}
		return whr, refused(code, pagesv1alpha1.OutcomeReplayed, msg)
	}
	if len(targets.Paths) == 0 && len(targets.Tags) == 0 && len(targets.Selectors) == 0 {
		return whr, answer{code: http.StatusOK, outcome: pagesv1alpha1.OutcomeNoMatch, msg: noMatchMessage(targets),
			resp: &Response{Outcome: pagesv1alpha1.OutcomeNoMatch, Pages: []revalidateapi.PageResult{}}}
	}
	if d := delayOf(whr); d > 0 {
		// The delivery is claimed: it is revalidated even if the sender
		// hangs up during the delay.
		<-h.Clock.After(d)
	}
	resp, code, err := h.API.Revalidate(context.WithoutCancel(r.Context()), revalidateapi.Call{
		Namespace: whr.Namespace, Paths: targets.Paths, Tags: targets.Tags, Selectors: targets.Selectors,
		Caller: "WebhookReceiver " + whr.Namespace + "/" + whr.Name,
	})
	switch code {
	case http.StatusAccepted:
		return whr, answer{code: http.StatusAccepted, outcome: pagesv1alpha1.OutcomeAccepted, pages: len(resp.Pages),
			msg:  fmt.Sprintf("revalidating %d pages", len(resp.Pages)),
			resp: &Response{Outcome: pagesv1alpha1.OutcomeAccepted, Token: resp.Token, Pages: resp.Pages, Unmatched: resp.Unmatched}}
	case http.StatusNotFound:
		return whr, answer{code: http.StatusOK, outcome: pagesv1alpha1.OutcomeNoMatch, msg: "no page matches what the rules named",
			resp: &Response{Outcome: pagesv1alpha1.OutcomeNoMatch, Pages: []revalidateapi.PageResult{}, Unmatched: resp.Unmatched}}
	case http.StatusBadRequest:
		return whr, refused(http.StatusUnprocessableEntity, pagesv1alpha1.OutcomeInvalidPayload, "the rules named what no page can be: "+err.Error())
	default:
		return whr, refused(http.StatusServiceUnavailable, pagesv1alpha1.OutcomeFailed, err.Error())
	}
}

// noMatchMessage says why a verified delivery revalidated nothing.
func noMatchMessage(t Targets) string {
	if t.Matched == 0 {
		return "no rule matched"
	}
	return "the matching rules named no page"
}

// verifyRefusal is the answer to a delivery its signature refused: 401,
// stale or not.
func verifyRefusal(err error) answer {
	if errors.Is(err, signature.ErrStale) {
		return refused(http.StatusUnauthorized, pagesv1alpha1.OutcomeStale, err.Error())
	}
	return refused(http.StatusUnauthorized, pagesv1alpha1.OutcomeUnauthorized, err.Error())
}

// lookup finds the receiver published at path; nil when none is.
func (h *Handler) lookup(ctx context.Context, path string) (*pagesv1alpha1.WebhookReceiver, error) {
	if !strings.HasPrefix(path, PathPrefix) || len(path) != len(PathPrefix)+64 {
		return nil, nil
	}
	list := &pagesv1alpha1.WebhookReceiverList{}
	if err := h.Reader.List(ctx, list, client.MatchingFields{PathIndex: path}); err != nil {
		return nil, fmt.Errorf("listing WebhookReceivers by path: %w", err)
	}
	// Two receivers at one path would need one digest of two names.
	for i := range list.Items {
		if whr := &list.Items[i]; whr.DeletionTimestamp.IsZero() {
			return whr, nil
		}
	}
	return nil, nil
}

// readyMessage says whether the manager found whr's current generation
// Ready, and if not why.
func readyMessage(whr *pagesv1alpha1.WebhookReceiver) (string, bool) {
	c := meta.FindStatusCondition(whr.Status.Conditions, pagesv1alpha1.ReadyCondition)
	switch {
	case c == nil || c.ObservedGeneration != whr.Generation:
		return "its current spec has not been checked yet", false
	case c.Status != "True":
		return c.Reason + ": " + c.Message, false
	}
	return "", true
}

var (
	// errPathMoved: the receiver's Secret no longer gives its published
	// path (rotated, not yet republished).
	errPathMoved = errors.New("the receiver's path has moved")
	// errCompile: the rules do not compile here.
	errCompile = errors.New("invalid rule")
)

// build returns whr's Secret and compiled rules, reading and compiling
// only what changed since the last delivery: the Secret when the path
// changes, the rules when the generation does.
func (h *Handler) build(ctx context.Context, whr *pagesv1alpha1.WebhookReceiver) (*built, error) {
	h.mu.Lock()
	b := h.receivers[whr.UID]
	h.mu.Unlock()
	if b != nil && b.path == whr.Status.Path && b.generation == whr.Generation {
		return b, nil
	}
	next := &built{}
	if b != nil {
		*next = *b
	}
	if b == nil || b.path != whr.Status.Path {
		s := &corev1.Secret{}
		key := types.NamespacedName{Namespace: whr.Namespace, Name: whr.Spec.SecretRef.Name}
		if err := h.Secrets.Get(ctx, key, s); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, errPathMoved
			}
			return nil, fmt.Errorf("reading Secret %s: %w", key, err)
		}
		sec, err := SecretFor(whr.Spec.Type, s)
		if err != nil {
			return nil, err
		}
		if Path(sec, whr.Namespace, whr.Name) != whr.Status.Path {
			return nil, errPathMoved
		}
		next.path, next.secret = whr.Status.Path, sec
	}
	if b == nil || b.generation != whr.Generation {
		rules, err := Compile(whr.Spec.Rules)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errCompile, err)
		}
		next.generation, next.rules = whr.Generation, rules
	}
	h.mu.Lock()
	if h.receivers == nil {
		h.receivers = map[types.UID]*built{}
	}
	h.receivers[whr.UID] = next
	h.mu.Unlock()
	return next, nil
}

// forget drops what was built for a receiver that is gone.
func (h *Handler) forget(uid types.UID) {
	h.mu.Lock()
	delete(h.receivers, uid)
	h.mu.Unlock()
}

// built reports whether anything is kept for uid.
func (h *Handler) built(uid types.UID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.receivers[uid]
	return ok
}

// evaluate decodes the body and evaluates the rules on it.
func (h *Handler) evaluate(ctx context.Context, rules *Rules, r *http.Request, body []byte) (Targets, error) {
	var payload any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &payload); err != nil {
			return Targets{}, fmt.Errorf("body is not JSON: %w", err)
		}
	}
	return rules.Eval(ctx, Input{Body: payload, Headers: Headers(r.Header), Method: r.Method})
}

// Headers is what rules see of a request's header: lower-cased names, and
// the values of a repeated header joined by ", ".
func Headers(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		k = strings.ToLower(k)
		if prev, ok := out[k]; ok {
			out[k] = prev + ", " + strings.Join(vs, ", ")
		} else {
			out[k] = strings.Join(vs, ", ")
		}
	}
	return out
}

// unclaimed are the types whose deliveries carry no id or signature of
// their own (a static credential is the same on every delivery): they are
// not claimed, and can be replayed by whoever sees one.
var unclaimed = []signature.Type{signature.Type(pagesv1alpha1.WebhookBearer), signature.Type(pagesv1alpha1.WebhookBasic)}

// claim records a verified delivery once for every replica, until its
// timestamp leaves the window (or, without a signed timestamp, for a
// window from now). It returns 409 for a replay, 503 when it cannot be
// recorded.
func (h *Handler) claim(ctx context.Context, whr *pagesv1alpha1.WebhookReceiver, typ signature.Type, v signature.Verified, window time.Duration) (int, string, error) {
	if slices.Contains(unclaimed, typ) || v.ID == "" {
		return 0, "", nil
	}
	from := v.Timestamp
	if from.IsZero() {
		from = h.Clock.Now()
	}
	key := "webhook/" + string(whr.UID) + "/" + v.ID
	if err := h.API.Replays.Claim(ctx, key, from.Add(window)); err != nil {
		if errors.Is(err, revalidateapi.ErrReplay) {
			return http.StatusConflict, "delivery already accepted", err
		}
		return http.StatusServiceUnavailable, "the delivery cannot be recorded; try again later", err
	}
	return 0, "", nil
}

// requestPath is the path as received, which Contentful signs.
func requestPath(r *http.Request) string {
	if p, _, _ := strings.Cut(r.RequestURI, "?"); p != "" {
		return p
	}
	return r.URL.EscapedPath()
}

// windowOf is spec.window with its default.
func windowOf(whr *pagesv1alpha1.WebhookReceiver) time.Duration {
	if whr.Spec.Window == nil {
		return DefaultWindow
	}
	return whr.Spec.Window.Duration
}

// delayOf is spec.delay, 0 when unset.
func delayOf(whr *pagesv1alpha1.WebhookReceiver) time.Duration {
	if whr.Spec.Delay == nil {
		return 0
	}
	return whr.Spec.Delay.Duration
}

// DefaultWindow is spec.window's default.
const DefaultWindow = 5 * time.Minute

// bodyReadTimeout bounds reading a body of at most MaxBodyBytes.
const bodyReadTimeout = 10 * time.Second
