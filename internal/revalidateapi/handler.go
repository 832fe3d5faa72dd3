package revalidateapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"golang.org/x/sync/errgroup"

	"github.com/isr-operator/isr-operator/internal/kube"
)

// Path is where the API answers.
const Path = "/revalidate"

// Serving is what the API needs to know of the page server it runs beside,
// so that a path names the page visitors get and `wait` knows when the new
// content is served here.
type Serving interface {
	// PageName names the page this server answers host and path with.
	PageName(host, path string) (types.NamespacedName, bool)
	// ServedDigest is the digest of the content this server serves for
	// page, if it serves any.
	ServedDigest(page types.NamespacedName) (string, bool)
}

// Handler is the revalidate API: it authenticates a CMS, finds the pages a
// request names, sets their revalidate annotation and, if asked, waits until
// this server serves the new content.
type Handler struct {
	// Reader reads StaticPages and the credentials Secret, from the cache.
	Reader client.Reader
	// Writer patches the revalidate annotation.
	Writer kube.Patcher
	// Serving is the page server this API runs beside.
	Serving Serving
	// Secret names the Secret holding the credentials.
	Secret types.NamespacedName
	// Verifier checks credentials.
	Verifier *Verifier
	// Replays records used signatures, for every replica; required.
	Replays ReplayStore
	// Limiter rate-limits callers by address; nil means no limit.
	Limiter *Limiter
	// Unauthenticated caps the calls in flight that are not yet
	// authenticated (a signed call's body is read before its signature can
	// be checked); nil means no cap.
	Unauthenticated *Gate
	// Proxies are the reverse proxies whose X-Forwarded-For is believed.
	Proxies Proxies
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
	caller := h.Proxies.ClientAddr(r)
	if wait, ok := h.Limiter.Allow(caller, h.Clock.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return h.fail(w, http.StatusTooManyRequests, "rate limit exceeded; retry later")
	}
	// Calls not yet authenticated are capped, so that callers without
	// credentials cannot hold many connections and bodies at once.
	release, ok := h.Unauthenticated.Enter()
	if !ok {
		w.Header().Set("Retry-After", "1")
		return h.fail(w, http.StatusServiceUnavailable, "too many calls are being authenticated; retry later")
	}
	defer release()
	creds, err := h.credentials(r.Context())
	if err != nil {
		h.Log.Error(err, "reading the revalidate API credentials", "secret", h.Secret)
		return h.fail(w, http.StatusServiceUnavailable, "credentials cannot be read; try again later")
	}
	// A bearer token is checked, and a signed call's headers, before a
	// byte of the body is read.
	bodyNeeded, err := h.Verifier.Precheck(creds, r.Header, h.Clock.Now())
	if err != nil {
		return h.refuse(w, caller, err)
	}
	if !bodyNeeded {
		release()
	}
	if r.ContentLength > h.MaxBodyBytes {
		return h.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over %d bytes", h.MaxBodyBytes))
	}
	// A client trickling its body must not hold a connection for ever. The
	// error only says when a ResponseWriter cannot set deadlines.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return h.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over %d bytes", h.MaxBodyBytes))
		}
		return h.fail(w, http.StatusBadRequest, "reading body: "+err.Error())
	}
	var sig *Signature
	if bodyNeeded {
		if sig, err = h.Verifier.Verify(creds, r.Header, body, h.Clock.Now()); err != nil {
			return h.refuse(w, caller, err)
		}
		release()
	}

	if sig != nil {
		// Checked on the API server, so that no replica, and no restart,
		// accepts a signature twice.
		if err := h.Replays.Claim(r.Context(), string(sig.MAC), sig.Expires); err != nil {
			if errors.Is(err, ErrReplay) {
				h.Log.Info("refused a call", "reason", err.Error(), "client", caller)
				return h.fail(w, http.StatusUnauthorized, err.Error())
			}
			h.Log.Error(err, "recording a signature")
			return h.fail(w, http.StatusServiceUnavailable, "the signature cannot be recorded; try again later")
		}
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

	code, answer := h.revalidate(r.Context(), req, caller)
	h.write(w, code, answer)
	return code
}

// Revalidate revalidates the pages c names, as a call without wait to the
// API does once authenticated: 202 with the matched pages (nil error); 400
// when c names what no page can be; 404 when no page matches; 503 when the
// cluster fails. The error says why for every code but 202.
func (h *Handler) Revalidate(ctx context.Context, c Call) (Response, int, error) {
	req, err := parseCall(c)
	if err != nil {
		return Response{}, http.StatusBadRequest, err
	}
	code, body := h.revalidate(ctx, req, c.Caller)
	switch b := body.(type) {
	case Response:
		return b, code, nil
	case errorBody:
		return Response{Unmatched: b.Unmatched}, code, errors.New(b.Error)
	}
	return Response{}, code, fmt.Errorf("unexpected answer %T", body)
}

// revalidate annotates the pages req names and, if asked, waits until they
// are served; it returns the status code and the body (a Response, or an
// errorBody) of the answer.
func (h *Handler) revalidate(ctx context.Context, req *parsed, caller string) (int, any) {
	pages, unmatched, err := h.match(ctx, req)
	if err != nil {
		h.Log.Error(err, "listing StaticPages")
		return http.StatusServiceUnavailable, errorBody{Error: "pages cannot be listed; try again later"}
	}
	if len(pages) == 0 {
		return http.StatusNotFound, errorBody{Error: "no StaticPage matches the request", Unmatched: unmatched}
	}

	token := h.token()
	// A caller hanging up must not leave only some of the pages annotated.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), annotateTimeout)
	defer cancel()
	written := make([]string, len(pages))
	// A tag or selector may name thousands of pages: they are annotated
	// annotateConcurrency at a time, each patch a round trip to the API
	// server. The first failure stops the rest.
	g, gctx := errgroup.WithContext(actx)
	g.SetLimit(annotateConcurrency)
	for i, p := range pages {
		g.Go(func() error {
			rv, err := kube.AnnotateRevalidate(gctx, h.Writer, client.ObjectKeyFromObject(p), token)
			if err != nil {
				return err
			}
			written[i] = rv
			annotatedPages.Inc()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		h.Log.Error(err, "annotating StaticPages", "token", token, "pages", len(pages))
		return http.StatusServiceUnavailable, errorBody{Error: err.Error()}
	}
	h.Log.Info("revalidating", "token", token, "pages", len(pages), "client", caller, "wait", req.Wait)

	resp := Response{Token: token, Unmatched: unmatched}
	code := http.StatusAccepted
	if req.Wait {
		code = http.StatusOK
		start := time.Now()
		results := h.wait(ctx, pages, written, token, req.timeout)
		for _, res := range results {
			if !visible(res) {
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
	return code, resp
}

// refuse answers a call whose credentials err refused.
func (h *Handler) refuse(w http.ResponseWriter, caller string, err error) int {
	if errors.Is(err, errNotConfigured) {
		h.Log.Info("refused a call: no credentials are configured", "secret", h.Secret, "client", caller)
		return h.fail(w, http.StatusForbidden, fmt.Sprintf("the revalidate API is off: Secret %s has no %q or %q key", h.Secret, TokenKey, HMACKey))
	}
	h.Log.Info("refused a call", "reason", err.Error(), "client", caller)
	w.Header().Set("WWW-Authenticate", `Bearer realm="isr-operator revalidate"`)
	return h.fail(w, http.StatusUnauthorized, err.Error())
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
	return Credentials{Token: TrimNewlines(s.Data[TokenKey]), HMACSecret: TrimNewlines(s.Data[HMACKey])}, nil
}

// TrimNewlines drops the trailing newline a Secret's value made with
// `kubectl create secret --from-file` often carries.
func TrimNewlines(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// token is unique per call, so each call re-renders even if the previous
// one's render is still running.
func (h *Handler) token() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("api-%d-%s", h.Clock.Now().Unix(), hex.EncodeToString(b[:]))
}

// Time limits of the steps of a call that do not depend on its body.
const (
	// bodyReadTimeout bounds reading a body of at most MaxBodyBytes.
	bodyReadTimeout = 10 * time.Second
	// annotateTimeout bounds annotating every matched page.
	annotateTimeout = 30 * time.Second
	// annotateConcurrency is how many pages of one call are annotated at
	// once.
	annotateConcurrency = 16
)
