package controllers

// The decisions of the StaticPageSet controller that need no API server:
// plain functions of a set, its children and the time, tested with tables.

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"k8s.io/apimachinery/pkg/util/validation"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
)

// ValidateSet parses a set's route pattern, checks its origin template
// against it and constrains it with spec.parameters (each pattern must
// compile); the error says what is wrong, for the InvalidSpec condition.
func ValidateSet(set *pagesv1alpha1.StaticPageSet) (*route.Pattern, error) {
	if errs := validation.IsValidLabelValue(set.Name); len(errs) > 0 {
		return nil, fmt.Errorf("the set's name must be a valid label value, the value of %s on its pages: %s",
			pagesv1alpha1.SetLabel, strings.Join(errs, "; "))
	}
	p, err := route.ParsePattern(set.Spec.Route)
	if err != nil {
		return nil, fmt.Errorf("spec.route: %w", err)
	}
	names, err := route.TemplateNames(set.Spec.Origin.URL)
	if err != nil {
		return nil, fmt.Errorf("spec.origin.url: %w", err)
	}
	for _, n := range names {
		if !slices.Contains(p.Names(), n) {
			return nil, fmt.Errorf("spec.origin.url refers to {%s}, which route %q does not define", n, set.Spec.Route)
		}
	}
	p, err = p.Constrain(set.ParameterPatterns())
	if err != nil {
		return nil, fmt.Errorf("spec.parameters: %w", err)
	}
	return p, nil
}

// sitemapRoute is the route of a sitemap URL if the set serves it: an
// http(s) URL for the set's host (any host when the set has none) whose
// path matches the pattern. The query, if any, is not part of a route.
func sitemapRoute(p *route.Pattern, host, loc string) (string, bool) {
	u, err := url.Parse(loc)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	if host != "" && !route.HostMatches(host, u.Host) {
		return "", false
	}
	params, ok := p.Match(u.EscapedPath())
	if !ok {
		return "", false
	}
	path, err := p.Path(params)
	return path, err == nil
}

// Expired returns the children created by requests whose last use (the
// later of creation and the requested-at annotation, unless that is in the
// future) is expireAfter or more before now, and how long until the next of the others expires (0
// when none will).
func Expired(children []*pagesv1alpha1.StaticPage, expireAfter time.Duration, now time.Time) (due []*pagesv1alpha1.StaticPage, next time.Duration) {
	for _, c := range children {
		if createdBy(c) != pagesv1alpha1.CreatedByRequest {
			continue
		}
		deadline := lastUsed(c, now).Add(expireAfter)
		if !now.Before(deadline) {
			due = append(due, c)
			continue
		}
		if left := deadline.Sub(now); next == 0 || left < next {
			next = left
		}
	}
	slices.SortFunc(due, func(a, b *pagesv1alpha1.StaticPage) int { return strings.Compare(a.Name, b.Name) })
	return due, next
}

// requestedAtSkew is how far ahead of the manager's clock a requested-at
// annotation may be (a server's clock runs ahead) and still count.
const requestedAtSkew = time.Minute

// lastUsed is when a child was last known to be wanted: its creation, or
// the last time a server served it, whichever is later. An unreadable
// annotation counts as no annotation, and so does one more than
// requestedAtSkew after now: a far-future time would keep the page from
// ever expiring.
func lastUsed(c *pagesv1alpha1.StaticPage, now time.Time) time.Time {
	last := c.CreationTimestamp.Time
	if v := c.Annotations[pagesv1alpha1.RequestedAtAnnotation]; v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil && t.After(last) && !t.After(now.Add(requestedAtSkew)) {
			last = t
		}
	}
	return last
}

// Evictions returns the children to delete so that at most limit remain,
// so that a full set has room again, so that reserve more pages fit
// (prerender paths that have no page yet: they always win over pages
// requests created), and so that the pages take at most maxBytes (each
// its PageBytes). Once the set holds limit pages, or more than limit
// minus reserve, every page that only remembers a path the origin does not
// have or redirects (created by a request, no content) goes first, oldest
// first: a flood of random paths must not fill the set and lock real new
// paths out, and forgetting such a path costs one origin fetch if it is
// asked for again. Then, while over limit minus reserve or over maxBytes,
// the pages created by requests go, least recently requested first
// (lastUsed at now, then creation time, then name, so every replica of the
// manager decides alike), skipping for bytes alone those with no content
// yet; a prerendered page never goes, even when the prerendered pages
// alone take more than maxBytes.
func Evictions(children []*pagesv1alpha1.StaticPage, limit, reserve int, maxBytes int64, now time.Time) []*pagesv1alpha1.StaticPage {
	target := limit - max(reserve, 0)
	total := TotalBytes(children)
	if len(children) < limit && len(children) <= target && total <= maxBytes {
		return nil
	}
	var absent, requested []*pagesv1alpha1.StaticPage
	for _, c := range children {
		switch {
		case createdBy(c) != pagesv1alpha1.CreatedByRequest:
		case rememberedAbsent(c):
			absent = append(absent, c)
		default:
			requested = append(requested, c)
		}
	}
	var out []*pagesv1alpha1.StaticPage
	if len(children) >= limit || len(children) > target {
		slices.SortFunc(absent, func(a, b *pagesv1alpha1.StaticPage) int {
			if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
				return c
			}
			return strings.Compare(a.Name, b.Name)
		})
		out = absent
	}
	excess := len(children) - len(out) - target
	if excess <= 0 && total <= maxBytes {
		return out
	}
	slices.SortFunc(requested, func(a, b *pagesv1alpha1.StaticPage) int {
		if c := lastUsed(a, now).Compare(lastUsed(b, now)); c != 0 {
			return c
		}
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for i, c := range requested {
		switch {
		case i < excess: // over the page bounds
		case total <= maxBytes:
			return out
		case c.PageBytes() == 0:
			// Over maxBytes only: a page with no content yet frees
			// nothing.
			continue
		}
		out = append(out, c)
		total -= c.PageBytes()
	}
	return out
}

// TotalBytes is what pages take toward their set's maxBytes: the sum of
// their PageBytes.
func TotalBytes(pages []*pagesv1alpha1.StaticPage) int64 {
	var n int64
	for _, p := range pages {
		n += p.PageBytes()
	}
	return n
}

// rememberedAbsent is true for a page that serves nothing because its
// origin answered 404 or 410, or, for a page a visitor's request created,
// redirected.
func rememberedAbsent(c *pagesv1alpha1.StaticPage) bool {
	cond := meta.FindStatusCondition(c.Status.Conditions, pagesv1alpha1.ReadyCondition)
	return c.Status.Digest == "" && cond != nil &&
		(cond.Reason == pagesv1alpha1.ReasonWithdrawn || cond.Reason == pagesv1alpha1.ReasonRedirected)
}
