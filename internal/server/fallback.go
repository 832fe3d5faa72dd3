package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/route"
)

// Fallback answers a request the route table has no page for when a
// StaticPageSet's pattern matches its path: with fallback Blocking it
// creates the path's page, if it does not exist yet, and holds the request
// until the page is served, withdrawn or fails; with fallback NotFound it
// answers 404. Whatever many requests wait for one page, a replica creates
// it once and waits for it once. Nothing is stored for a failure: the
// manager deletes a page whose first render failed, and a later request
// tries again.
type Fallback struct {
	// Client reads pages through the manager's cache and creates them.
	Client client.Client
	// Sets routes unbuilt paths to their StaticPageSet.
	Sets *Sets
	// Table holds the servable pages.
	Table *Table
	// Timeout bounds a wait for a page (--fallback-timeout): past it the
	// request gets 504, and the page, if rendered later, serves the next.
	Timeout time.Duration
	// Clock is the time source.
	Clock clock.PassiveClock
	// Log records creates and failures.
	Log logr.Logger
	// BaseContext bounds the waits, which no single request owns, and the
	// requested-at patches.
	BaseContext context.Context
	// Collisions reports on their set the requests for paths whose page's
	// name is taken; nil reports none.
	Collisions *CollisionReports
	// Slots makes each set's spec.maxCreationRate one budget across every
	// replica (see creationBudget); nil leaves each replica its own budget.
	Slots SlotStore
	// ShareByClient gives each client address at most its share of that
	// budget (ClientShare). Off where every request comes from a proxy's
	// address (--max-connections-per-client=0), whose share would bound
	// them all.
	ShareByClient bool

	mu    sync.Mutex
	waits map[types.NamespacedName]*pageWait
}

// decision is what a request for a set's path gets, given what is known
// of its page.
type decision int

const (
	// decServe: the page is in the table.
	decServe decision = iota
	// decWait: the page exists and is being rendered or loaded.
	decWait
	// decCreate: the page does not exist and may be created.
	decCreate
	// decWithdrawn: the origin has no such page (404/410); the page is
	// kept as the cluster's negative cache.
	decWithdrawn
	// decNotFound: the set renders no new path (fallback NotFound), or the
	// page is one that renders nothing (suspended, outside its set).
	decNotFound
	// decFailed: the page's first render failed.
	decFailed
	// decFull: the set holds spec.maxPages pages.
	decFull
	// decRateLimited: the set's spec.maxCreationRate pages of this second
	// are created, or the client's share of them.
	decRateLimited
	// decTimeout: the page was not ready within --fallback-timeout.
	decTimeout
	// decCanceled: the request ended first.
	decCanceled
	// decError: the page could not be created or read.
	decError
	// decCollision: the name of the path's page is taken by a page that is
	// not the set's page for the path; the path cannot get one.
	decCollision
	// decRedirect: the origin redirected the path's page, a request page,
	// to another path of the set; the page is kept, with nothing stored,
	// as the record of where to send the visitor.
	decRedirect
)

// result labels of isr_server_fallback_total, by decision.
var decisionResult = map[decision]string{
	decServe:       "served",
	decWithdrawn:   "withdrawn",
	decNotFound:    "not_found",
	decFailed:      "failed",
	decFull:        "full",
	decRateLimited: "rate_limited",
	decTimeout:     "timeout",
	decCanceled:    "canceled",
	decError:       "error",
	decCollision:   "collision",
	decRedirect:    "redirected",
}

// childState is what the cache and the table say of a set's page.
type childState struct {
	// Exists: the cache holds the page.
	Exists bool
	// Deleting: it has a deletion timestamp.
	Deleting bool
	// Rendered: it has stored content (status.digest).
	Rendered bool
	// Served: the table holds its content.
	Served bool
	// Reason is its Ready condition's reason when False, else "".
	Reason string
	// Redirect is its status.redirectRoute: with reason Redirected, the
	// path to send the visitor to ("" for none).
	Redirect string
}

// flightMemory is what one wait saw happen to the page.
type flightMemory struct {
	// Created: the wait created the page (or found another replica had).
	Created bool
	// Failed is the failure reason of a render the wait saw, "" if none.
	Failed string
	// Gone: the page was deleted during the wait.
	Gone bool
}

// failureReasons are the Ready reasons of a render that failed on the
// origin's or storage's side: a page that never rendered with one of them
// answers 502.
var failureReasons = map[string]bool{
	pagesv1alpha1.ReasonOriginError:        true,
	pagesv1alpha1.ReasonOriginTimeout:      true,
	pagesv1alpha1.ReasonOriginUnreachable:  true,
	pagesv1alpha1.ReasonOriginRefused:      true,
	pagesv1alpha1.ReasonBodyTooLarge:       true,
	pagesv1alpha1.ReasonInvalidBody:        true,
	pagesv1alpha1.ReasonContentTypeRefused: true,
	pagesv1alpha1.ReasonStorageError:       true,
	pagesv1alpha1.ReasonStorageTooLarge:    true,
	pagesv1alpha1.ReasonStorageConflict:    true,
	pagesv1alpha1.ReasonStorageUnavailable: true,
}

// inertReasons are the Ready reasons of a page that renders nothing until
// someone changes it: it answers 404.
var inertReasons = map[string]bool{
	pagesv1alpha1.ReasonSuspended:   true,
	pagesv1alpha1.ReasonSetNotFound: true,
	pagesv1alpha1.ReasonOutsideSet:  true,
}

// decide is what a request for a set's path gets: fallback is the set's,
// child what is known of the path's page, mem what the wait for it saw,
// pages and limit the set's page count and spec.maxPages. The creation rate
// is checked after it, when the answer is decCreate.
func decide(fallback pagesv1alpha1.Fallback, child childState, mem flightMemory, pages, limit int32) decision {
	switch {
	case child.Served:
		return decServe
	case child.Reason == pagesv1alpha1.ReasonWithdrawn:
		return decWithdrawn
	case child.Reason == pagesv1alpha1.ReasonRedirected && child.Redirect != "":
		return decRedirect
	case child.Reason == pagesv1alpha1.ReasonRedirected:
		// Redirected to a URL that is no path of the set.
		return decWithdrawn
	case child.Exists && !child.Rendered && failureReasons[child.Reason], mem.Failed != "":
		return decFailed
	case child.Exists && !child.Rendered && inertReasons[child.Reason]:
		return decNotFound
	case child.Exists && child.Deleting && !child.Rendered:
		// Deleted before any render: a failure the wait did not see.
		return decFailed
	case child.Exists:
		return decWait
	case mem.Created && mem.Gone:
		// Created, then deleted without ever being served: the manager
		// drops a page whose first render failed.
		return decFailed
	case mem.Created:
		// Not in the cache yet.
		return decWait
	case fallback == pagesv1alpha1.FallbackNotFound:
		return decNotFound
	case pages >= limit:
		return decFull
	}
	return decCreate
}

// outcome is how a wait ended.
type outcome struct {
	decision decision
	// entry is the page to serve, with decServe.
	entry *Entry
	// retryAfter is the Retry-After of a 503, in seconds.
	retryAfter int
	// negativeTTL is how long a withdrawn path stays 404, with
	// decWithdrawn, or a redirected one 308, with decRedirect.
	negativeTTL time.Duration
	// location is the path a decRedirect sends the visitor to, escaped.
	location string
	// set is the StaticPageSet whose pattern matched, for its metrics.
	set types.NamespacedName
}

// pageWait is the one wait of a replica for one page.
type pageWait struct {
	name types.NamespacedName
	set  *setEntry
	path string
	// client is the address of the request that started the wait, as
	// clientAddrKey gives it: the create is charged to it.
	client string
	// wake is signalled by every change the informer sees of the page.
	wake chan struct{}
	// done is closed when out is set.
	done chan struct{}
	out  outcome

	mu  sync.Mutex
	mem flightMemory
}

// observe tells the wait for page, if there is one, that the page changed;
// page is nil when it was deleted. It never blocks.
func (f *Fallback) observe(name types.NamespacedName, page *pagesv1alpha1.StaticPage) {
	f.mu.Lock()
	fl := f.waits[name]
	f.mu.Unlock()
	if fl == nil {
		return
	}
	fl.mu.Lock()
	if page == nil {
		fl.mem.Gone = true
	} else if r := readyFalseReason(page); failureReasons[r] && page.Status.Digest == "" {
		fl.mem.Failed = r
	}
	fl.mu.Unlock()
	select {
	case fl.wake <- struct{}{}:
	default:
	}
}

// notify wakes the wait for page, if any: its entry changed in the table.
func (f *Fallback) notify(name types.NamespacedName) {
	f.mu.Lock()
	fl := f.waits[name]
	f.mu.Unlock()
	if fl == nil {
		return
	}
	select {
	case fl.wake <- struct{}{}:
	default:
	}
}

// readyFalseReason is the reason of page's Ready condition when False.
func readyFalseReason(page *pagesv1alpha1.StaticPage) string {
	c := meta.FindStatusCondition(page.Status.Conditions, pagesv1alpha1.ReadyCondition)
	if c == nil || c.Status != "False" {
		return ""
	}
	return c.Reason
}

// resolve answers a request the table has no page for. matched is false
// when no serving set's pattern matches the path.
func (f *Fallback) resolve(r *http.Request) (out outcome, matched bool) {
	set, path, ok := f.Sets.Match(r.Host, r.URL.EscapedPath())
	if !ok {
		return outcome{}, false
	}
	// Every outcome below names the set it came from.
	defer func() { out.set = types.NamespacedName{Namespace: set.set.Namespace, Name: set.set.Name} }()
	name := f.childName(r.Context(), set, path)
	out = f.check(r.Context(), set, name, path, flightMemory{})
	if out.decision != decWait && out.decision != decCreate {
		return out, true
	}
	fl := f.join(set, name, path, requestClient(r))
	select {
	case <-fl.done:
		return fl.out, true
	case <-r.Context().Done():
		return outcome{decision: decCanceled}, true
	}
}

// childName is the name of path's page in set: ChildName, unless there is
// no page by that name and the set's page for path was created under
// LegacyChildName, before names carried 128 bits of hash.
func (f *Fallback) childName(ctx context.Context, set *setEntry, path string) types.NamespacedName {
	name := types.NamespacedName{Namespace: set.set.Namespace, Name: pagesv1alpha1.ChildName(set.set.Name, path)}
	page := &pagesv1alpha1.StaticPage{}
	if f.Table.Get(name) != nil || !apierrors.IsNotFound(f.Client.Get(ctx, name, page)) {
		return name
	}
	legacy := types.NamespacedName{Namespace: name.Namespace, Name: pagesv1alpha1.LegacyChildName(set.set.Name, path)}
	if err := f.Client.Get(ctx, legacy, page); err == nil && page.OwnerSet() == set.set.Name && page.Spec.Route == path {
		return legacy
	}
	return name
}

// check looks at the path's page once and decides.
func (f *Fallback) check(ctx context.Context, set *setEntry, name types.NamespacedName, path string, mem flightMemory) outcome {
	if e := f.Table.Get(name); e != nil && e.Route == path {
		// Served as any page: one whose store is down answers 503, one
		// over --cache-size is loaded.
		return outcome{decision: decServe, entry: e}
	}
	var st childState
	page := &pagesv1alpha1.StaticPage{}
	switch err := f.Client.Get(ctx, name, page); {
	case apierrors.IsNotFound(err):
	case err != nil:
		f.Log.Error(err, "reading a StaticPageSet's page", "page", name)
		return outcome{decision: decError, retryAfter: 5}
	case page.OwnerSet() != set.set.Name || page.Spec.Route != path:
		// The name is taken by a page that is not this set's page for
		// this path (one made to squat it, or a hash collision): the path
		// cannot have its page, which is not the same as having none.
		f.Log.Error(nil, "the name of a requested path's page is taken by another page", "page", name, "set", set.set.Name, "route", path,
			"takenBySet", page.OwnerSet(), "takenByRoute", page.Spec.Route)
		if f.Collisions != nil {
			f.Collisions.Record(set.set, path, page)
		}
		return outcome{decision: decCollision, retryAfter: fullRetryAfter}
	default:
		st = childState{
			Exists:   true,
			Deleting: !page.DeletionTimestamp.IsZero(),
			Rendered: page.Status.Digest != "",
			Reason:   readyFalseReason(page),
			Redirect: page.Status.RedirectRoute,
		}
	}
	d := decide(set.set.FallbackMode(), st, mem, f.Sets.Children(types.NamespacedName{Namespace: set.set.Namespace, Name: set.set.Name}), set.set.PageLimit())
	out := outcome{decision: d}
	switch d {
	case decWithdrawn:
		out.negativeTTL = negativeTTL(page, f.Clock.Now())
	case decRedirect:
		out.negativeTTL = negativeTTL(page, f.Clock.Now())
		out.location = route.EscapeRoute(page.Status.RedirectRoute)
	case decFull:
		out.retryAfter = fullRetryAfter
	}
	return out
}

// fullRetryAfter is the Retry-After of a set that is full, in seconds:
// pages leave a full set only when they expire or maxPages is raised.
const fullRetryAfter = 60

// negativeTTL is how long a withdrawn page still answers 404 without an
// origin fetch: until the manager deletes it, AbsentFor after the render
// that found it withdrawn.
func negativeTTL(page *pagesv1alpha1.StaticPage, now time.Time) time.Duration {
	if page.Status.RenderedAt == nil {
		return 0
	}
	left := page.Status.RenderedAt.Add(page.AbsentFor()).Sub(now)
	if left < 0 {
		return 0
	}
	return left
}

// requestClient is the client address r is charged to.
func requestClient(r *http.Request) string {
	if c := clientAddrKey(r.RemoteAddr); c != "" {
		return c
	}
	return "unknown"
}

// join returns the wait for name, starting it, for client, if there is
// none.
func (f *Fallback) join(set *setEntry, name types.NamespacedName, path, client string) *pageWait {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl := f.waits[name]; fl != nil {
		return fl
	}
	if f.waits == nil {
		f.waits = map[types.NamespacedName]*pageWait{}
	}
	fl := &pageWait{name: name, set: set, path: path, client: client, wake: make(chan struct{}, 1), done: make(chan struct{})}
	f.waits[name] = fl
	go f.run(fl)
	return fl
}

// run is one wait: it creates the page if needed, then looks again at each
// change of the page until it is served, fails, or Timeout passes.
func (f *Fallback) run(fl *pageWait) {
	base := f.BaseContext
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithTimeout(base, f.Timeout)
	defer cancel()
	out := f.wait(ctx, fl)
	f.mu.Lock()
	delete(f.waits, fl.name)
	f.mu.Unlock()
	fl.out = out
	close(fl.done)
}

func (f *Fallback) wait(ctx context.Context, fl *pageWait) outcome {
	log := f.Log.WithValues("page", fl.name, "set", fl.set.set.Name, "route", fl.path)
	for {
		fl.mu.Lock()
		mem := fl.mem
		fl.mu.Unlock()
		out := f.check(ctx, fl.set, fl.name, fl.path, mem)
		switch out.decision {
		case decWait:
		case decCreate:
			if out = f.create(ctx, fl, log); out.decision != decWait {
				return out
			}
		default:
			if out.decision == decFailed {
				log.Info("page of a requested path failed to render", "reason", mem.Failed)
			}
			return out
		}
		select {
		case <-fl.wake:
		case <-ctx.Done():
			log.Info("page of a requested path not ready in time", "timeout", f.Timeout.String())
			return outcome{decision: decTimeout}
		}
	}
}

// create creates the page of a requested path, within the set's creation
// rate; another replica's create of the same page is as good as its own.
func (f *Fallback) create(ctx context.Context, fl *pageWait, log logr.Logger) outcome {
	if out, ok := f.admit(ctx, fl, log); !ok {
		return out
	}
	child := pagesv1alpha1.RequestedChild(fl.set.set, fl.path)
	err := f.Client.Create(ctx, child)
	switch {
	case err == nil:
		createsTotal.WithLabelValues("created").Inc()
		log.V(1).Info("created the page of a requested path")
	case apierrors.IsAlreadyExists(err):
		createsTotal.WithLabelValues("exists").Inc()
	default:
		createsTotal.WithLabelValues("error").Inc()
		log.Error(err, "creating the page of a requested path")
		return outcome{decision: decError, retryAfter: 5}
	}
	fl.mu.Lock()
	fl.mem.Created = true
	fl.mu.Unlock()
	return outcome{decision: decWait}
}

// admit takes one create from the set's budget: this replica's limiter,
// then, with Slots, a slot of the budget across replicas. A create the
// budget across replicas refuses gives the limiter's token back, so that
// one client refused there does not use up this replica's gate for others.
func (f *Fallback) admit(ctx context.Context, fl *pageWait, log logr.Logger) (outcome, bool) {
	now := f.Clock.Now()
	res := fl.set.limiter.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		retry := int((d + time.Second - 1) / time.Second)
		return outcome{decision: decRateLimited, retryAfter: max(retry, 1)}, false
	}
	if f.Slots == nil {
		return outcome{}, true
	}
	client := ""
	if f.ShareByClient {
		client = fl.client
	}
	ok, err := fl.set.budget.take(ctx, f.Slots, fl.set.set, client, now)
	switch {
	case err != nil:
		res.CancelAt(now)
		log.Error(err, "taking a page creation from the set's budget")
		return outcome{decision: decError, retryAfter: 5}, false
	case !ok:
		res.CancelAt(now)
		// The next window has new slots.
		return outcome{decision: decRateLimited, retryAfter: 1}, false
	}
	return outcome{}, true
}

// Answers of the fallback.
var (
	fallbackNotFound  = "not found\n"
	fallbackFailed    = "the page could not be rendered\n"
	fallbackFull      = "no more pages can be created for this path's set now\n"
	fallbackRate      = "too many new pages are being created; try again shortly\n"
	fallbackTimeout   = "the page is still being rendered; try again shortly\n"
	fallbackError     = "the page cannot be created now\n"
	fallbackCollision = "this path's page cannot be created: its name is taken\n"
	fallbackRedirect  = "moved permanently\n"
	fallbackRetryHint = []string{"5"}
)

// answer writes a fallback's answer other than a page, and counts it.
func answer(w http.ResponseWriter, out outcome) {
	hdr := w.Header()
	hdr["Cache-Control"] = noStore
	code, msg := http.StatusNotFound, fallbackNotFound
	switch out.decision {
	case decWithdrawn:
		// The 404 holds, on every replica, until the manager forgets the
		// path: a downstream cache may keep it as long.
		hdr["Cache-Control"] = []string{fmt.Sprintf("public, max-age=0, s-maxage=%d", seconds(out.negativeTTL))}
	case decRedirect:
		// Permanent for the method too; a downstream cache may keep it as
		// long as the record lasts.
		code, msg = http.StatusPermanentRedirect, fallbackRedirect
		hdr["Cache-Control"] = []string{fmt.Sprintf("public, max-age=0, s-maxage=%d", seconds(out.negativeTTL))}
		hdr["Location"] = []string{out.location}
	case decNotFound:
	case decFailed:
		code, msg = http.StatusBadGateway, fallbackFailed
	case decFull:
		code, msg = http.StatusServiceUnavailable, fallbackFull
		hdr["Retry-After"] = []string{strconv.Itoa(out.retryAfter)}
	case decRateLimited:
		code, msg = http.StatusServiceUnavailable, fallbackRate
		hdr["Retry-After"] = []string{strconv.Itoa(out.retryAfter)}
	case decTimeout, decCanceled:
		code, msg = http.StatusGatewayTimeout, fallbackTimeout
	case decCollision:
		code, msg = http.StatusServiceUnavailable, fallbackCollision
		hdr["Retry-After"] = []string{strconv.Itoa(out.retryAfter)}
	default:
		code, msg = http.StatusServiceUnavailable, fallbackError
		hdr["Retry-After"] = fallbackRetryHint
	}
	fallbackTotal.WithLabelValues(decisionResult[out.decision]).Inc()
	plain(w, code, msg)
}

// touch records, in the background, that a page a visitor caused was
// served: its requested-at annotation, which the set's expireAfter counts
// from, is moved on at most every tenth of expireAfter.
func (f *Fallback) touch(e *Entry, now time.Time) {
	expire := f.Sets.ExpireAfter(types.NamespacedName{Namespace: e.Page.Namespace, Name: e.request.set})
	if expire <= 0 || now.Sub(e.request.at) < expire/10 || e.touched.Load() {
		return
	}
	if !e.touched.CompareAndSwap(false, true) {
		return
	}
	go func() {
		ctx := f.BaseContext
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := kube.AnnotateRequestedAt(ctx, f.Client, e.Page, now); err != nil {
			f.Log.Error(err, "recording when a requested page was served", "page", e.Page)
			requestedAtTotal.WithLabelValues("error").Inc()
			e.touched.Store(false)
			return
		}
		requestedAtTotal.WithLabelValues("ok").Inc()
	}()
}
