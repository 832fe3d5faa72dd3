package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
)

// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// CollisionReportInterval is how often, at most, a replica reports on a
// StaticPageSet the requests it answered 503 because their path's page
// name was taken.
const CollisionReportInterval = 10 * time.Second

// CollisionReports turns the requests for a set's path whose page name is
// taken by a page that is not the set's page for the path into Warning
// Events (reason NameCollision) on the set: at most one per set per
// Interval, counting the requests since the last and naming the last path
// and the page holding its name, so that a visitor who asks for such paths
// again and again costs the API server one Event per set per Interval
// whatever the rate.
type CollisionReports struct {
	// Recorder emits the Events; nil emits none.
	Recorder events.EventRecorder
	// Interval is how often pending reports are emitted.
	Interval time.Duration

	mu      sync.Mutex
	pending map[types.NamespacedName]*collisionReport
}

// collisionReport is what a set has not been told yet.
type collisionReport struct {
	// set is the cached object the Event is about.
	set *pagesv1alpha1.StaticPageSet
	// requests counts refused requests since the last Event.
	requests int64
	// path is the last refused path; holder the page holding its page's
	// name, and that page's set and route.
	path, holder, holderSet, holderRoute string
}

// Record notes one request for path, a path of set, refused because the
// name of its page is taken by holder.
func (c *CollisionReports) Record(set *pagesv1alpha1.StaticPageSet, path string, holder *pagesv1alpha1.StaticPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending = map[types.NamespacedName]*collisionReport{}
	}
	key := types.NamespacedName{Namespace: set.Namespace, Name: set.Name}
	r := c.pending[key]
	if r == nil {
		r = &collisionReport{}
		c.pending[key] = r
	}
	r.set = set
	r.requests++
	r.path, r.holder, r.holderSet, r.holderRoute = path, holder.Name, holder.OwnerSet(), holder.Spec.Route
}

// Start emits pending reports every Interval until ctx ends.
func (c *CollisionReports) Start(ctx context.Context) error {
	kube.Periodically(ctx, c.Interval, "reporting page name collisions", func(context.Context) error {
		c.Flush()
		return nil
	})
	return nil
}

// Flush emits an Event for each set with refused requests since the last,
// now.
func (c *CollisionReports) Flush() {
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	if c.Recorder == nil {
		return
	}
	for _, r := range pending {
		holder := "a StaticPage of no set"
		if r.holderSet != "" {
			holder = "a StaticPage of StaticPageSet " + clip(r.holderSet, 253)
		}
		c.Recorder.Eventf(r.set, nil, corev1.EventTypeWarning, pagesv1alpha1.EventNameCollision, "Serve",
			"answered %d requests with 503 since the last report: the name of their path's page is taken; the last: path %s, page name %s, held by %s for route %s",
			r.requests, clip(r.path, 256), clip(r.holder, 253), holder, clip(r.holderRoute, 256))
	}
}

// clip cuts s to at most n bytes, saying so, so that an Event's note stays
// under the API's 1 KiB whatever path a visitor asked for.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", strings.ToValidUTF8(s[:n], ""), len(s))
}
