package purge

import (
	"slices"
	"time"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/tags"
)

// Change is a page whose new content is published: what a purge of it
// names.
type Change struct {
	// Namespace and Name name the StaticPage.
	Namespace, Name string
	// Host is the page's host, "" for any host; Route its path.
	Host, Route string
	// Digest is the content published ("" when withdrawn).
	Digest string
	// Published is when the content was published; the purge latency
	// runs from it.
	Published time.Time
}

// Plan is what one purge of a CDN names for a batch of changes.
type Plan struct {
	// Changes are the changes the CDN covers.
	Changes []Change
	// Tags are the identity tags to purge, with purgeBy tags.
	Tags []string
	// URLs are the host and path pairs to purge, with purgeBy urls.
	URLs []HostPath
}

// HostPath is one URL to purge.
type HostPath struct {
	Host, Path string
}

// PlanFor is what cdn purges for changes: those of its namespace whose
// host it covers (every host when spec.hosts is empty; a page for any host
// is covered by every host), named by identity tag or by URL on each of
// the hosts it is served on (its own, else each of spec.hosts).
func PlanFor(cdn *pagesv1alpha1.CDN, changes []Change) Plan {
	var p Plan
	for _, c := range changes {
		if c.Namespace != cdn.Namespace {
			continue
		}
		hosts := []string{route.NormalizeHost(c.Host)}
		switch {
		case c.Host == "" && len(cdn.Spec.Hosts) > 0:
			hosts = cdn.Spec.Hosts
		case len(cdn.Spec.Hosts) > 0 && !slices.Contains(cdn.Spec.Hosts, route.NormalizeHost(c.Host)):
			continue
		}
		p.Changes = append(p.Changes, c)
		if cdn.Mode() == pagesv1alpha1.PurgeByTags {
			p.Tags = append(p.Tags, tags.PageTag(c.Namespace, c.Name))
			continue
		}
		for _, h := range hosts {
			p.URLs = append(p.URLs, HostPath{Host: h, Path: c.Route})
		}
	}
	return p
}

// MaxTagsPerRequest bounds the tags of one xkey purge request, so that its
// xkey-purge header stays within varnishd's http_req_hdr_len (8k by
// default): MaxTagsPerRequest identity tags of tags.MaxLength characters
// and their separators fit.
const MaxTagsPerRequest = 60

// Batches splits items into slices of at most n.
func Batches[T any](items []T, n int) [][]T {
	var out [][]T
	for len(items) > 0 {
		k := min(n, len(items))
		out = append(out, items[:k])
		items = items[k:]
	}
	return out
}

// Backoff is the delay before try attempt (from 1) of a failed purge: base
// doubled per try up to limit, or the CDN's Retry-After when it asked for
// longer (up to limit).
func Backoff(attempt int, base, limit, retryAfter time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = max(d, retryAfter)
	return min(d, limit)
}
