package revalidateapi

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// wait polls until every page's new render is served here and purged
// from the CDNs in front, or timeout.
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
			if visible(results[i]) {
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
		res.Reason, res.Message = pagesv1alpha1.LiveUnknown, err.Error()
		return res
	}
	ready := meta.FindStatusCondition(current.Status.Conditions, pagesv1alpha1.ReadyCondition)
	if ready != nil && ready.Status != metav1.ConditionTrue {
		res.Reason, res.Message = ready.Reason, ready.Message
	}
	if !handled(current, token, written) {
		if res.Reason == "" {
			res.Reason, res.Message = pagesv1alpha1.LiveRendering, "the new render has not finished"
		}
		return res
	}
	digest, served := h.Serving.ServedDigest(client.ObjectKeyFromObject(current))
	switch {
	case ready != nil && (ready.Reason == pagesv1alpha1.ReasonWithdrawn || ready.Reason == pagesv1alpha1.ReasonRedirected):
		// Withdrawn and redirected pages are live once this server no
		// longer serves content for them (it answers 404 or 308).
		live = !served
	default:
		live = served && digest == current.Status.Digest
	}
	if live {
		res.Reason, res.Message = "", ""
		res.Purged, res.Reason, res.Message = purged(current)
	} else if res.Reason == "" {
		res.Reason, res.Message = pagesv1alpha1.LiveLoading, "rendered; this server has not loaded it yet"
	}
	return res
}

// visible is true once visitors get the new render: it is live here and,
// when a CDN covers the page, purged from it.
func visible(r PageResult) bool {
	return *r.Live && (r.Purged == nil || *r.Purged)
}

// purged says whether the CDNs covering p acknowledged the purge of its
// current content, from status.lastPurge: the manager marks it
// PurgePending in the status write that publishes new content a CDN
// covers, so a lastPurge of other content means no purge is due (nil).
// When not purged, reason and message say why.
func purged(p *pagesv1alpha1.StaticPage) (done *bool, reason, message string) {
	last := p.Status.LastPurge
	if last.Result == "" || last.Digest != p.Status.Digest {
		return nil, "", ""
	}
	ok := last.Result == pagesv1alpha1.ReasonPurged
	if ok {
		return &ok, "", ""
	}
	msg := last.Message
	if msg == "" {
		msg = "the purge of the new content from the CDN in front is queued"
		if last.Result != pagesv1alpha1.ReasonPurgePending {
			msg = "the CDN in front has not acknowledged the purge of the new content"
		}
	}
	return &ok, last.Result, msg
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
