package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	ctrlhandler "sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/render"
	"github.com/isr-operator/isr-operator/internal/route"
)

// Field indexes on StaticPages the set controller looks pages up by.
const (
	// childOfIndex holds a child page's spec.set.name: a set's children
	// are found without scanning every page of the namespace.
	childOfIndex = "isr.staticpageset.child-of"
	// explicitRouteIndex holds "host route" of a page with its own origin
	// (host normalised, "" for any host): the pages that take a path from
	// a set.
	explicitRouteIndex = "isr.staticpageset.explicit-route"
)

// DefaultSitemapInterval is how often a set's sitemap is fetched again when
// the set has no revalidate interval.
const DefaultSitemapInterval = time.Hour

// createBatch is the most child pages one reconcile creates: a set of many
// prerender paths then shows its progress in status, and frees its worker
// for other sets, between batches.
const createBatch = 200

// setWorkers is how many sets are reconciled at once. A reconcile never
// waits on an origin: sitemaps are read apart (sitemapReader), so a slow
// sitemap delays only its own set.
const setWorkers = 2

// StaticPageSetReconciler keeps the child StaticPages of each
// StaticPageSet: it validates the set, settles which of two overlapping sets
// serves a pattern, creates a page for each prerender path (listed or from
// the sitemap), removes prerendered pages whose path left the list,
// expires and evicts pages created by requests, keeps the children's
// revalidate settings and host equal to the set's, and reports all this in
// the set's status. It never renders: children are rendered by the
// StaticPage controller like any page.
//
// Pages created by requests (created-by=request) are never removed because
// of spec.prerender: only spec.expireAfter and spec.maxPages remove them,
// and deleting the set removes every child through its ownerReference.
type StaticPageSetReconciler struct {
	client.Client
	// Sitemaps fetches sitemaps through the origin guard, with the body cap.
	Sitemaps *render.Fetcher
	// Recorder emits Events when something changes.
	Recorder events.EventRecorder
	// Clock is the time source; tests may inject a fake one.
	Clock clock.PassiveClock
	// DefaultTimeout bounds a sitemap fetch when the set's origin sets no
	// timeout.
	DefaultTimeout time.Duration
	// MaxTimeout caps every sitemap fetch, whatever the set's origin sets;
	// 0 means no cap.
	MaxTimeout time.Duration
	// Grants says which hosts each namespace may serve; nil allows all
	// (--host-grants=off).
	Grants *kube.HostGrants

	// retries spaces out fetches of a failing sitemap.
	retries workqueue.TypedRateLimiter[reconcile.Request]
	// mu guards sitemaps.
	mu sync.Mutex
	// sitemaps holds the last sitemap read of each set, so that a set
	// reconciled because a child changed does not fetch its sitemap again
	// before its interval.
	sitemaps map[types.NamespacedName]*sitemapRead
	// reader reads sitemaps in the background and wakes their sets.
	reader *sitemapReader
}

// sitemapRead is what one fetch of a set's sitemap gave.
type sitemapRead struct {
	// key says what the paths were filtered for; a set whose sitemap
	// URL, host, pattern or maxPages changed fetches again.
	key string
	// paths are the routes the sitemap lists that match the set.
	paths []string
	// err is why the last fetch failed, nil after a success.
	err error
	// next is when to fetch again.
	next time.Time
}

// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpagesets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpagesets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpagesets/finalizers,verbs=update
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpages,verbs=get;list;watch;create;patch;delete

// SetupWithManager registers the reconciler and the page indexes it uses.
// A set is reconciled when its spec or metadata changes, when one of its
// children is created, deleted, changes spec, labels or readiness, when
// another set on its host changes (which may end or start a conflict), and
// when a page with its own origin takes or frees a path of its pattern.
func (r *StaticPageSetReconciler) SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	r.retries = workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](opts.RetryBaseDelay, opts.RetryMaxDelay)
	r.sitemaps = map[types.NamespacedName]*sitemapRead{}
	r.reader = newSitemapReader()
	if err := mgr.Add(r.reader); err != nil {
		return fmt.Errorf("adding the sitemap readers: %w", err)
	}
	ctx := context.Background()
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &pagesv1alpha1.StaticPage{}, childOfIndex, func(o client.Object) []string {
		if name := o.(*pagesv1alpha1.StaticPage).OwnerSet(); name != "" {
			return []string{name}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("indexing pages by set: %w", err)
	}
	if err := indexer.IndexField(ctx, &pagesv1alpha1.StaticPage{}, explicitRouteIndex, func(o client.Object) []string {
		p := o.(*pagesv1alpha1.StaticPage)
		if p.OwnerSet() != "" {
			return nil
		}
		return []string{routeKey(p.Spec.Host, p.Spec.Route)}
	}); err != nil {
		return fmt.Errorf("indexing pages by route: %w", err)
	}
	specChanged := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{})
	b := ctrl.NewControllerManagedBy(mgr).
		For(&pagesv1alpha1.StaticPageSet{}, builder.WithPredicates(specChanged)).
		Owns(&pagesv1alpha1.StaticPage{}, builder.WithPredicates(childChanged())).
		Watches(&pagesv1alpha1.StaticPageSet{}, ctrlhandler.EnqueueRequestsFromMapFunc(r.setsOnSameHost),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&pagesv1alpha1.StaticPage{}, ctrlhandler.EnqueueRequestsFromMapFunc(r.setsMatchingPage),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A sitemap read in the background brings its set back here.
		WatchesRawSource(source.Channel(r.reader.done, &ctrlhandler.EnqueueRequestForObject{}))
	if r.Grants.Enabled() {
		b = b.Watches(kube.NamespaceMetadata(), ctrlhandler.EnqueueRequestsFromMapFunc(r.allSets),
			builder.WithPredicates(kube.GrantsChanged()))
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: setWorkers}).
		Named("staticpageset").
		Complete(r)
}

// childChanged lets through the changes of a child that alter its set's
// status or that the set corrects: creation, deletion, spec, labels,
// readiness and stored bytes. Status updates of renders that leave Ready
// and the bytes as they were, and the servers' requested-at annotation, do
// not wake the set (expiry is scheduled by time).
func childChanged() predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*pagesv1alpha1.StaticPage)
			n, ok2 := e.ObjectNew.(*pagesv1alpha1.StaticPage)
			if !ok1 || !ok2 {
				return true
			}
			return o.Generation != n.Generation ||
				!maps.Equal(o.Labels, n.Labels) ||
				isReady(o) != isReady(n) ||
				// A full set makes room by forgetting absent paths.
				rememberedAbsent(o) != rememberedAbsent(n) ||
				// maxBytes counts what renders store.
				o.PageBytes() != n.PageBytes() ||
				o.DeletionTimestamp.IsZero() != n.DeletionTimestamp.IsZero()
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// setsOnSameHost maps a set to the other sets on its (normalised) host,
// whose conflicts it may start or end.
func (r *StaticPageSetReconciler) setsOnSameHost(ctx context.Context, o client.Object) []reconcile.Request {
	set, ok := o.(*pagesv1alpha1.StaticPageSet)
	if !ok {
		return nil
	}
	list := &pagesv1alpha1.StaticPageSetList{}
	if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing StaticPageSets to re-check conflicts")
		return nil
	}
	host := route.NormalizeHost(set.Spec.Host)
	var out []reconcile.Request
	for i := range list.Items {
		other := &list.Items[i]
		if other.UID != set.UID && route.NormalizeHost(other.Spec.Host) == host {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(other)})
		}
	}
	return out
}

// setsMatchingPage maps a page with its own origin to the sets whose
// pattern matches its route on its host: the page takes that path from them.
func (r *StaticPageSetReconciler) setsMatchingPage(ctx context.Context, o client.Object) []reconcile.Request {
	page, ok := o.(*pagesv1alpha1.StaticPage)
	if !ok || page.OwnerSet() != "" {
		return nil
	}
	list := &pagesv1alpha1.StaticPageSetList{}
	if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing StaticPageSets for a page's route")
		return nil
	}
	host := route.NormalizeHost(page.Spec.Host)
	var out []reconcile.Request
	for i := range list.Items {
		set := &list.Items[i]
		if route.NormalizeHost(set.Spec.Host) != host {
			continue
		}
		if p, err := route.ParsePattern(set.Spec.Route); err == nil {
			if _, ok := p.MatchRoute(page.Spec.Route); ok {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(set)})
			}
		}
	}
	return out
}

// setRun is what one reconcile of a set learns, step by step.
type setRun struct {
	req ctrl.Request
	set *pagesv1alpha1.StaticPageSet
	now time.Time

	// pattern is the parsed route; nil when the spec is invalid.
	pattern *route.Pattern
	// invalid is why the spec cannot be used.
	invalid error
	// notGranted says why the set's host is not granted to its namespace,
	// and how to grant it; "" when it is.
	notGranted string
	// conflict names the older set that serves the same pattern and host.
	conflict string

	// children are the set's live pages (controlled by it, not being
	// deleted), by route.
	children map[string]*pagesv1alpha1.StaticPage
	// misnamed are its pages created by requests under a name that is not
	// the one the set gives their route: deleted, never counted.
	misnamed []*pagesv1alpha1.StaticPage

	// paths are the prerender paths in order: listed first, then the
	// sitemap's, matching the pattern, not taken by an explicit page, at
	// most maxPages.
	paths []string
	// skipped are listed paths that do not match the pattern.
	skipped []string
	// collisions are prerender paths whose page's name a StaticPage that
	// is not the set's page for the path has taken.
	collisions []string
	// explicit counts prerender paths taken by pages with their own origin.
	explicit int
	// sitemapErr is why the sitemap could not be read; pages are then
	// created for what is known but none removed.
	sitemapErr error
	// sitemapPending is true while the set's sitemap is read for the first
	// time (or for a new sitemap, host, pattern or maxPages): its paths are
	// not known yet, so none is removed.
	sitemapPending bool
	// missing counts prerender paths left without a page for lack of room
	// (beyond maxPages, or held by pages created by requests).
	missing int

	// after is the soonest time-driven requeue any step asked for.
	after time.Duration
}

// requeueIn asks for a reconcile within d.
func (run *setRun) requeueIn(d time.Duration) {
	if d <= 0 {
		d = time.Millisecond
	}
	if run.after == 0 || d < run.after {
		run.after = d
	}
}

// usable is true when the set may create and remove pages for its paths.
func (run *setRun) usable() bool {
	return run.pattern != nil && run.notGranted == "" && run.conflict == ""
}

// setStep is one step of a set's reconcile. It returns an error only when
// the API server failed it; trouble with the set itself goes to status.
type setStep func(ctx context.Context, run *setRun) error

// Reconcile runs the steps of a set's reconcile, then writes its status.
// A set that is invalid or in conflict creates and prunes no page, but the
// pages it has are still kept in sync with it, expired and evicted, and
// counted. It is looked at again when its sitemap is due or its next page
// expires, and otherwise only when something it watches changes.
func (r *StaticPageSetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	set := &pagesv1alpha1.StaticPageSet{}
	if err := r.Get(ctx, req.NamespacedName, set); err != nil {
		if apierrors.IsNotFound(err) {
			// Its children go with it, through their ownerReferences.
			r.forget(req)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("getting StaticPageSet %s: %w", req.NamespacedName, err)
	}
	if !set.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, set)
	}
	if err := r.ensureFinalizer(ctx, set); err != nil {
		return ctrl.Result{}, err
	}
	base := set.DeepCopy()
	run := &setRun{req: req, set: set, now: r.Clock.Now()}
	for _, step := range []setStep{
		r.validate,
		r.checkGrant,
		r.recordClaim,
		r.checkConflicts,
		r.listChildren,
		// Before any delete: the admission policy lets the manager delete
		// only pages labelled with their set, which this step ensures.
		r.syncChildren,
		r.removeMisnamed,
		r.resolvePaths,
		r.prune,
		r.expire,
		r.evict,
		r.prerender,
	} {
		if err := step(ctx, run); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.writeStatus(ctx, base, run); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: run.after}, nil
}

// ensureFinalizer adds PagesFinalizer to a set, so that deleting it deletes
// its pages first.
func (r *StaticPageSetReconciler) ensureFinalizer(ctx context.Context, set *pagesv1alpha1.StaticPageSet) error {
	return addFinalizer(ctx, r.Client, set, pagesv1alpha1.PagesFinalizer)
}

// setGoneRetry is how soon a deleted set whose pages are still going (an
// object store removing their content) is looked at again.
const setGoneRetry = time.Second

// finalize deletes a deleted set's pages, then releases the set. The pages'
// own finalizers remove their content from an object store; the set waits
// for them, so that nothing it made outlives it.
func (r *StaticPageSetReconciler) finalize(ctx context.Context, set *pagesv1alpha1.StaticPageSet) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(set, pagesv1alpha1.PagesFinalizer) {
		return ctrl.Result{}, nil
	}
	pages := &pagesv1alpha1.StaticPageList{}
	if err := r.List(ctx, pages, client.InNamespace(set.Namespace), client.MatchingLabels{pagesv1alpha1.SetLabel: set.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing the pages of deleted StaticPageSet %s/%s: %w", set.Namespace, set.Name, err)
	}
	left := 0
	for i := range pages.Items {
		p := &pages.Items[i]
		if p.OwnerSet() != set.Name {
			continue
		}
		left++
		if p.DeletionTimestamp.IsZero() {
			if err := r.deleteChild(ctx, p, false); err != nil && !apierrors.IsConflict(err) {
				return ctrl.Result{}, err
			}
		}
	}
	if left > 0 {
		log.FromContext(ctx).V(1).Info("waiting for a deleted set's pages to go", "pages", left)
		return ctrl.Result{RequeueAfter: setGoneRetry}, nil
	}
	base := set.DeepCopy()
	controllerutil.RemoveFinalizer(set, pagesv1alpha1.PagesFinalizer)
	if err := r.Patch(ctx, set, client.MergeFrom(base)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("releasing StaticPageSet %s/%s: %w", set.Namespace, set.Name, err))
	}
	return ctrl.Result{}, nil
}

// validate checks what the API server's rules cannot: the pattern as the
// servers parse it (a parameter named twice), that the origin template
// parses and names only the pattern's parameters, and that the set's name
// fits in the label its children carry. An invalid set gets no new page.
func (r *StaticPageSetReconciler) validate(_ context.Context, run *setRun) error {
	run.pattern, run.invalid = ValidateSet(run.set)
	return nil
}

// checkGrant refuses a set whose host is not granted to its namespace: it
// creates no page and takes no path from another set (Ready=False, reason
// HostNotAllowed); its pages are refused by their own controller.
func (r *StaticPageSetReconciler) checkGrant(ctx context.Context, run *setRun) error {
	ok, why, err := r.Grants.Check(ctx, run.set.Namespace, run.set.Spec.Host)
	if err != nil {
		return err
	}
	if !ok {
		run.notGranted = why
	}
	return nil
}

// recordClaim records in status.claim (written with the rest of the
// status) when the set claimed its host and route pattern, once per host
// and pattern: its creation time the first time, the time of the change
// when either changes, so that moving an old set onto a pattern never takes
// it from a set that claimed it earlier. A set whose host is not granted
// claims nothing.
func (r *StaticPageSetReconciler) recordClaim(_ context.Context, run *setRun) error {
	set := run.set
	if run.notGranted != "" || set.Status.Claim.Holds(set.Spec.Host, set.Spec.Route) {
		return nil
	}
	set.Status.Claim = pagesv1alpha1.NewClaim(set.Status.Claim, set.Spec.Host, set.Spec.Route, set.CreationTimestamp, run.now)
	return nil
}

// checkConflicts finds an older set (by claim time, then namespace/name,
// as route claims are ordered; a set whose new claim is not recorded yet
// counts as claiming now) whose valid pattern
// overlaps this one on the same host, in any namespace the manager
// watches: the servers' route table spans namespaces, so only one of them
// may serve these paths. The older keeps serving; this one creates no page.
func (r *StaticPageSetReconciler) checkConflicts(ctx context.Context, run *setRun) error {
	if run.pattern == nil || run.notGranted != "" {
		return nil
	}
	list := &pagesv1alpha1.StaticPageSetList{}
	if err := r.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("listing StaticPageSets: %w", err)
	}
	host := route.NormalizeHost(run.set.Spec.Host)
	granted := newGrantedIn(r.Grants, run.set.Spec.Host)
	me := setClaim(run.set, run.now)
	var winner *route.Claim
	for i := range list.Items {
		other := &list.Items[i]
		if other.UID == run.set.UID || !other.DeletionTimestamp.IsZero() || route.NormalizeHost(other.Spec.Host) != host {
			continue
		}
		p, err := ValidateSet(other)
		if err != nil || !p.Overlaps(run.pattern) {
			continue
		}
		// A set of a namespace not granted the host claims nothing on it.
		if ok, err := granted.ok(ctx, other.Namespace); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		c := setClaim(other, run.now)
		if route.Wins(c, me) && (winner == nil || route.Wins(c, *winner)) {
			c.Route = other.Spec.Route
			winner = &c
		}
	}
	if winner != nil {
		run.conflict = fmt.Sprintf("StaticPageSet %s (route %s) is older and serves the same paths on %s",
			winner.Page, winner.Route, hostName(run.set.Spec.Host))
	}
	return nil
}

// setClaim is a set's claim on its pattern, ordered as page claims are: by
// the time of its claim, now when its new claim is not recorded yet.
func setClaim(set *pagesv1alpha1.StaticPageSet, now time.Time) route.Claim {
	since, ok := set.ClaimSince()
	if !ok {
		since = now
	}
	return route.Claim{Page: client.ObjectKeyFromObject(set), Host: set.Spec.Host, Created: since}
}

func hostName(h string) string {
	if h == "" {
		return "any host"
	}
	return "host " + h
}

// listChildren gathers the set's live children: pages naming the set whose
// controller is this set (not a set of the same name deleted before), and
// which are not being deleted.
func (r *StaticPageSetReconciler) listChildren(ctx context.Context, run *setRun) error {
	list := &pagesv1alpha1.StaticPageList{}
	// A set may have a hundred thousand pages: they are read without a
	// copy, and copied only to be changed.
	if err := r.List(ctx, list, client.InNamespace(run.set.Namespace), client.MatchingFields{childOfIndex: run.set.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("listing the pages of StaticPageSet %s: %w", run.req.NamespacedName, err)
	}
	run.children = make(map[string]*pagesv1alpha1.StaticPage, len(list.Items))
	for i := range list.Items {
		c := &list.Items[i]
		if !c.DeletionTimestamp.IsZero() || !metav1.IsControlledBy(c, run.set) {
			continue
		}
		if createdBy(c) == pagesv1alpha1.CreatedByRequest && !pagesv1alpha1.IsChildName(run.set.Name, c.Spec.Route, c.Name) {
			// Only a server creates such pages, and the servers' admission
			// policy can check a name's shape but not its hash.
			run.misnamed = append(run.misnamed, c)
			continue
		}
		run.children[c.Spec.Route] = c
	}
	return nil
}

// resolvePaths computes the prerender paths: the listed ones, then the
// sitemap's (fetched again when due), each kept if it matches the pattern
// and no page with its own origin has it on the set's host, at most
// maxPages of them.
func (r *StaticPageSetReconciler) resolvePaths(ctx context.Context, run *setRun) error {
	if !run.usable() {
		return nil
	}
	limit := int(run.set.PageLimit())
	seen := map[string]bool{}
	granted := newGrantedIn(r.Grants, run.set.Spec.Host)
	add := func(path string) error {
		if seen[path] {
			return nil
		}
		seen[path] = true
		if len(run.paths) >= limit {
			// Never more prerender paths than pages the set may hold.
			run.missing++
			return nil
		}
		taken, err := r.explicitPage(ctx, granted, run.set.Spec.Host, path)
		if err != nil {
			return err
		}
		if taken {
			run.explicit++
			return nil
		}
		run.paths = append(run.paths, path)
		return nil
	}
	for _, path := range run.set.Spec.Prerender.Paths {
		if _, ok := run.pattern.MatchRoute(path); !ok {
			run.skipped = append(run.skipped, path)
			continue
		}
		if err := add(path); err != nil {
			return err
		}
	}
	var fromSitemap []string
	fromSitemap, run.sitemapErr = r.sitemapPaths(run)
	for _, path := range fromSitemap {
		if err := add(path); err != nil {
			return err
		}
	}
	return nil
}

// explicitPage reports whether a page with its own origin serves route on
// host (normalised): the servers give it the path, as Next.js gives an
// explicit route precedence over a dynamic one, so the set makes no page
// for it. Only pages of namespaces granted the host count (granted
// answers for the set's host): a page elsewhere is never served there.
func (r *StaticPageSetReconciler) explicitPage(ctx context.Context, granted *grantedIn, host, path string) (bool, error) {
	list := &pagesv1alpha1.StaticPageList{}
	if err := r.List(ctx, list, client.MatchingFields{explicitRouteIndex: routeKey(host, path)}, client.UnsafeDisableDeepCopy); err != nil {
		return false, fmt.Errorf("looking for a StaticPage of route %s: %w", path, err)
	}
	for i := range list.Items {
		if !list.Items[i].DeletionTimestamp.IsZero() {
			continue
		}
		ok, err := granted.ok(ctx, list.Items[i].Namespace)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// routeKey is how explicitRouteIndex spells a host and route; neither may
// hold a space.
func routeKey(host, path string) string { return route.NormalizeHost(host) + " " + path }

// sitemapPaths returns the routes the set's sitemap lists that match the
// set, from the last read. When a new read is due (the set's sitemap,
// host, pattern or maxPages changed, or its revalidate interval, an hour
// without one, has passed since), it is asked of the sitemap readers and
// the set is reconciled again once it is done; meanwhile the last read of
// the same sitemap stands, and with none run.sitemapPending is set. A
// failed read is retried with backoff; meanwhile the paths of the last
// good read of the same sitemap are returned with the error.
func (r *StaticPageSetReconciler) sitemapPaths(run *setRun) ([]string, error) {
	set := run.set
	if set.Spec.Prerender.Sitemap == "" {
		r.forget(run.req)
		return nil, nil
	}
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%d", set.Spec.Prerender.Sitemap, route.NormalizeHost(set.Spec.Host), set.Spec.Route, set.PageLimit())
	r.mu.Lock()
	last := r.sitemaps[run.req.NamespacedName]
	r.mu.Unlock()
	if last != nil && last.key == key && run.now.Before(last.next) {
		run.requeueIn(last.next.Sub(run.now))
		return last.paths, last.err
	}
	job := sitemapReadJob{
		req: run.req, key: key, url: set.Spec.Prerender.Sitemap, host: set.Spec.Host,
		pattern: run.pattern, limit: int(set.PageLimit()), timeout: r.timeout(set),
		budget: r.sitemapBudget(set), interval: DefaultSitemapInterval,
	}
	if set.Spec.Revalidate != nil && set.Spec.Revalidate.Duration > 0 {
		job.interval = set.Spec.Revalidate.Duration
	}
	r.reader.request(run.req.NamespacedName, key, func(ctx context.Context) { r.readSitemap(ctx, job) })
	if last != nil && last.key == key {
		return last.paths, last.err
	}
	run.sitemapPending = true
	return nil, nil
}

// sitemapReadJob is what one background read of a set's sitemap needs,
// taken from the set when the read was asked for.
type sitemapReadJob struct {
	req     ctrl.Request
	key     string
	url     string
	host    string
	pattern *route.Pattern
	limit   int
	// timeout bounds each fetch, budget the whole read (an index and the
	// sitemaps it lists), interval is how long a good read stands.
	timeout, budget, interval time.Duration
}

// readSitemap reads a set's sitemap within its budget and records what it
// gave for the set's next reconcile: the matching routes, up to maxPages,
// or the error, with the paths of the last good read of the same sitemap,
// and when to read again.
func (r *StaticPageSetReconciler) readSitemap(ctx context.Context, job sitemapReadJob) {
	ctx, cancel := context.WithTimeout(ctx, job.budget)
	defer cancel()
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("staticpageset", job.req.NamespacedName))
	read := &sitemapRead{key: job.key}
	seen := map[string]bool{}
	err := r.Sitemaps.Sitemap(ctx, job.url, job.timeout, func(loc string) bool {
		if path, ok := sitemapRoute(job.pattern, job.host, loc); ok && !seen[path] {
			seen[path] = true
			read.paths = append(read.paths, path)
		}
		return len(read.paths) < job.limit
	})
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("the sitemap, with the sitemaps it lists, was not read within %s: %w", job.budget, err)
	}
	now := r.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		read.err = err
		read.paths = nil
		if last := r.sitemaps[job.req.NamespacedName]; last != nil && last.key == job.key {
			read.paths = last.paths
		}
		after := r.retries.When(job.req)
		read.next = now.Add(after)
		log.FromContext(ctx).Info("sitemap fetch failed; keeping the pages made before", "sitemap", job.url, "error", err.Error(), "retryIn", after)
	} else {
		r.retries.Forget(job.req)
		read.next = now.Add(job.interval)
		log.FromContext(ctx).V(1).Info("read sitemap", "sitemap", job.url, "paths", len(read.paths))
	}
	r.sitemaps[job.req.NamespacedName] = read
}

// sitemapBudget bounds one read of a set's sitemap, a sitemap index and
// every sitemap it lists together: --max-origin-timeout, and at least the
// set's fetch timeout (which is all there is without a cap).
func (r *StaticPageSetReconciler) sitemapBudget(set *pagesv1alpha1.StaticPageSet) time.Duration {
	return max(r.MaxTimeout, r.timeout(set))
}

// forget drops what is remembered of a set's sitemap.
func (r *StaticPageSetReconciler) forget(req ctrl.Request) {
	r.mu.Lock()
	delete(r.sitemaps, req.NamespacedName)
	r.mu.Unlock()
	r.retries.Forget(req)
}

// prune deletes the prerendered children whose path is no longer a
// prerender path. Nothing is deleted when the sitemap could not be read:
// its paths are then unknown, and a sitemap that fails must not take the
// pages it listed with it. Children created by requests are never pruned.
func (r *StaticPageSetReconciler) prune(ctx context.Context, run *setRun) error {
	if !run.usable() || run.sitemapErr != nil || run.sitemapPending {
		return nil
	}
	keep := make(map[string]bool, len(run.paths))
	for _, p := range run.paths {
		keep[p] = true
	}
	var gone []string
	for path, c := range run.children {
		if createdBy(c) != pagesv1alpha1.CreatedByPrerender || keep[path] {
			continue
		}
		if err := r.deleteChild(ctx, c, false); err != nil {
			return err
		}
		delete(run.children, path)
		gone = append(gone, path)
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		r.event(run.set, corev1.EventTypeNormal, pagesv1alpha1.EventPagesRemoved, "Prerender",
			"removed %d prerendered pages whose paths are no longer prerendered: %s", len(gone), listSome(gone))
	}
	return nil
}

// removeMisnamed deletes the pages requests created under a name that is
// not the one the set gives their route, which the servers never create:
// such a page (made to squat the name of another path's page) is not
// rendered, and would keep that path from having its page.
func (r *StaticPageSetReconciler) removeMisnamed(ctx context.Context, run *setRun) error {
	if len(run.misnamed) == 0 {
		return nil
	}
	gone := make([]string, 0, len(run.misnamed))
	for _, c := range run.misnamed {
		if c.Labels[pagesv1alpha1.SetLabel] != run.set.Name {
			// Not one a server made (its policy requires the label), and
			// not the manager's to delete: it stays, never rendered.
			continue
		}
		if err := r.deleteChild(ctx, c, false); err != nil {
			return err
		}
		gone = append(gone, c.Name+" ("+c.Spec.Route+")")
	}
	run.misnamed = nil
	if len(gone) == 0 {
		return nil
	}
	slices.Sort(gone)
	log.FromContext(ctx).Info("deleted pages created under a name that is not their route's", "pages", gone)
	r.event(run.set, corev1.EventTypeWarning, pagesv1alpha1.EventMisnamedPagesRemoved, "Delete",
		"deleted %d pages created by requests under a name that is not the one this set gives their route: %s", len(gone), listSome(gone))
	return nil
}

// expire deletes the children created by requests that no server has
// served for spec.expireAfter, and asks to be run again when the next one
// is due. A child a server touches while it is being deleted is kept: the
// delete is conditional on the version the decision was made on.
func (r *StaticPageSetReconciler) expire(ctx context.Context, run *setRun) error {
	if run.set.Spec.ExpireAfter == nil || run.set.Spec.ExpireAfter.Duration <= 0 {
		return nil
	}
	due, next := Expired(mapValues(run.children), run.set.Spec.ExpireAfter.Duration, run.now)
	if next > 0 {
		run.requeueIn(next)
	}
	var gone []string
	for _, c := range due {
		if err := r.deleteChild(ctx, c, true); err != nil {
			if apierrors.IsConflict(err) {
				// Served just now: look again with its new requested-at.
				run.requeueIn(time.Second)
				continue
			}
			return err
		}
		delete(run.children, c.Spec.Route)
		gone = append(gone, c.Spec.Route)
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		r.event(run.set, corev1.EventTypeNormal, pagesv1alpha1.EventPagesExpired, "Expire",
			"removed %d pages not served for %s: %s", len(gone), run.set.Spec.ExpireAfter.Duration, listSome(gone))
	}
	return nil
}

// evict deletes children created by requests, least recently requested
// first (Evictions), while the set holds more than maxPages or its pages
// take more than maxBytes, whatever the servers did: the bounds are kept by
// the cluster, not only by their good behaviour; and while prerender paths
// without a page lack room: they always win over pages requests created.
// Prerendered children are never evicted (their number is bounded by
// maxPages already; their bytes, when over maxBytes, are reported).
func (r *StaticPageSetReconciler) evict(ctx context.Context, run *setRun) error {
	reserve := 0
	for _, path := range run.paths {
		if _, ok := run.children[path]; !ok {
			reserve++
		}
	}
	victims := Evictions(mapValues(run.children), int(run.set.PageLimit()), reserve, run.set.ByteLimit(), run.now)
	var gone []string
	for _, c := range victims {
		if err := r.deleteChild(ctx, c, false); err != nil {
			return err
		}
		delete(run.children, c.Spec.Route)
		gone = append(gone, c.Spec.Route)
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		r.event(run.set, corev1.EventTypeWarning, pagesv1alpha1.EventPagesEvicted, "Evict",
			"removed %d pages created by requests (paths the origin lacks first, then the least recently requested) to keep room under maxPages (%d) and maxBytes (%s) for %d prerender paths and new requests: %s", len(gone), run.set.PageLimit(), maxBytesOf(run.set), reserve, listSome(gone))
	}
	return nil
}

// prerender creates a page for each prerender path that has none, as long
// as the set holds fewer than maxPages, at most createBatch per reconcile;
// a page a request created for a prerender path becomes a prerendered one,
// so that neither expiry nor eviction takes it.
func (r *StaticPageSetReconciler) prerender(ctx context.Context, run *setRun) error {
	if !run.usable() {
		return nil
	}
	room := int(run.set.PageLimit()) - len(run.children)
	var created []string
	for _, path := range run.paths {
		if c, ok := run.children[path]; ok {
			if createdBy(c) != pagesv1alpha1.CreatedByPrerender {
				if err := r.patchChild(ctx, run, c, func(c *pagesv1alpha1.StaticPage) {
					c.Labels[pagesv1alpha1.CreatedByLabel] = pagesv1alpha1.CreatedByPrerender
				}); err != nil {
					return err
				}
			}
			continue
		}
		if room <= 0 {
			run.missing++
			continue
		}
		if len(created) == createBatch {
			run.requeueIn(time.Millisecond)
			run.missing++
			continue
		}
		child := prerenderPage(run.set, path)
		if err := r.Create(ctx, child); err != nil {
			if apierrors.IsAlreadyExists(err) {
				// A server created it a moment ago, and it shows up in the
				// next reconcile; or another page has its name.
				if r.nameTaken(ctx, run, child) {
					run.collisions = append(run.collisions, path)
					run.missing++
					run.requeueIn(collisionRecheck)
				}
				continue
			}
			return fmt.Errorf("creating the page of %s for StaticPageSet %s: %w", path, run.req.NamespacedName, err)
		}
		run.children[path] = child
		room--
		created = append(created, path)
	}
	if len(created) > 0 {
		r.event(run.set, corev1.EventTypeNormal, pagesv1alpha1.EventPagesCreated, "Prerender",
			"created %d pages: %s", len(created), listSome(created))
	}
	return nil
}

// collisionRecheck is how soon a set looks again at the prerender paths
// whose page names are taken: removing the page that holds a name changes
// nothing the set watches.
const collisionRecheck = time.Minute

// nameTaken reports whether the page by child's name is not the set's page
// for child's route: a page made to squat the name, or a hash collision.
func (r *StaticPageSetReconciler) nameTaken(ctx context.Context, run *setRun, child *pagesv1alpha1.StaticPage) bool {
	taken := &pagesv1alpha1.StaticPage{}
	if err := r.Get(ctx, client.ObjectKeyFromObject(child), taken); err != nil {
		// Not in the cache yet: the create that won was a moment ago.
		return false
	}
	return !metav1.IsControlledBy(taken, run.set) || taken.Spec.Route != child.Spec.Route
}

// prerenderPage builds the page of path, as the servers build a page for a
// request but created-by=prerender.
func prerenderPage(set *pagesv1alpha1.StaticPageSet, path string) *pagesv1alpha1.StaticPage {
	c := pagesv1alpha1.NewChild(set, path, pagesv1alpha1.CreatedByPrerender)
	// The manager may write the set's finalizers: its pages also hold a
	// foreground deletion of the set back.
	c.OwnerReferences[0].BlockOwnerDeletion = new(true)
	return c
}

// syncChildren keeps each child's revalidate, revalidateMode and host equal
// to the set's, and its set label, so that servers answer with the set's
// Cache-Control and serve the pages where the set says.
func (r *StaticPageSetReconciler) syncChildren(ctx context.Context, run *setRun) error {
	set := run.set
	for _, path := range sortedKeys(run.children) {
		c := run.children[path]
		if inSync(set, c) {
			continue
		}
		if err := r.patchChild(ctx, run, c, func(c *pagesv1alpha1.StaticPage) {
			c.Spec.Host = set.Spec.Host
			c.Spec.RevalidateMode = set.Mode()
			c.Spec.Revalidate = nil
			if set.Spec.Revalidate != nil {
				c.Spec.Revalidate = set.Spec.Revalidate.DeepCopy()
			}
			c.Labels[pagesv1alpha1.SetLabel] = set.Name
		}); err != nil {
			return err
		}
	}
	return nil
}

// inSync reports whether a child carries the set's settings.
func inSync(set *pagesv1alpha1.StaticPageSet, c *pagesv1alpha1.StaticPage) bool {
	return c.Spec.Host == set.Spec.Host &&
		c.Mode() == set.Mode() &&
		c.RevalidateInterval() == revalidateOf(set) &&
		(c.Spec.Revalidate == nil) == (set.Spec.Revalidate == nil) &&
		c.Labels[pagesv1alpha1.SetLabel] == set.Name
}

func revalidateOf(set *pagesv1alpha1.StaticPageSet) time.Duration {
	if set.Spec.Revalidate == nil {
		return 0
	}
	return set.Spec.Revalidate.Duration
}

// patchChild changes a copy of a child with a merge patch of what change
// did, and puts the patched copy in run: children are read from the cache
// without a copy, and must not be changed in place.
func (r *StaticPageSetReconciler) patchChild(ctx context.Context, run *setRun, c *pagesv1alpha1.StaticPage, change func(*pagesv1alpha1.StaticPage)) error {
	changed := c.DeepCopy()
	if changed.Labels == nil {
		changed.Labels = map[string]string{}
	}
	change(changed)
	if err := r.Patch(ctx, changed, client.MergeFrom(c)); err != nil {
		if apierrors.IsNotFound(err) {
			delete(run.children, c.Spec.Route)
			return nil
		}
		return fmt.Errorf("updating page %s/%s: %w", c.Namespace, c.Name, err)
	}
	run.children[changed.Spec.Route] = changed
	return nil
}

func (r *StaticPageSetReconciler) deleteChild(ctx context.Context, c *pagesv1alpha1.StaticPage, sameVersion bool) error {
	return deletePage(ctx, r.Client, c, sameVersion)
}

// deletePage deletes a set's page, only the very object decided on: the
// same UID, and with sameVersion the same resourceVersion (a Conflict error,
// returned as it is, then says it changed meanwhile). A page already gone is
// no error.
func deletePage(ctx context.Context, c client.Writer, p *pagesv1alpha1.StaticPage, sameVersion bool) error {
	pre := client.Preconditions{UID: &p.UID}
	if sameVersion {
		pre.ResourceVersion = &p.ResourceVersion
	}
	if err := c.Delete(ctx, p, pre); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		if apierrors.IsConflict(err) {
			return err
		}
		return fmt.Errorf("deleting page %s/%s of StaticPageSet %s: %w", p.Namespace, p.Name, p.OwnerSet(), err)
	}
	return nil
}

// writeStatus sets the set's conditions, counts and observedGeneration,
// writes them if they changed, and emits an Event for each change worth
// one.
func (r *StaticPageSetReconciler) writeStatus(ctx context.Context, base *pagesv1alpha1.StaticPageSet, run *setRun) error {
	set := run.set
	pages, ready := int32(len(run.children)), int32(0)
	for _, c := range run.children {
		if isReady(c) {
			ready++
		}
	}
	stored := TotalBytes(mapValues(run.children))
	set.Status.Pages, set.Status.ReadyPages, set.Status.StoredBytes = &pages, &ready, &stored

	wasReady := conditionReason(base.Status.Conditions, pagesv1alpha1.ReadyCondition)
	wasFull := meta.IsStatusConditionTrue(base.Status.Conditions, pagesv1alpha1.FullCondition)
	wasPrerendered := conditionReason(base.Status.Conditions, pagesv1alpha1.PrerenderedCondition)

	switch {
	case run.invalid != nil:
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionFalse, pagesv1alpha1.ReasonInvalidSpec, run.invalid.Error())
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.PrerenderedCondition, metav1.ConditionFalse, pagesv1alpha1.ReasonInvalidSpec, "nothing is prerendered while the spec is invalid")
	case run.notGranted != "":
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionFalse, pagesv1alpha1.ReasonHostNotAllowed, run.notGranted)
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.PrerenderedCondition, metav1.ConditionFalse, pagesv1alpha1.ReasonHostNotAllowed, "nothing is prerendered while the set's host is not granted to its namespace")
	case run.conflict != "":
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionFalse, pagesv1alpha1.ReasonConflict, run.conflict)
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.PrerenderedCondition, metav1.ConditionFalse, pagesv1alpha1.ReasonConflict, "nothing is prerendered while another set serves these paths")
	default:
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionTrue, pagesv1alpha1.ReasonServing,
			fmt.Sprintf("serving %s on %s", set.Spec.Route, hostName(set.Spec.Host)))
		status, reason, msg := prerendered(run)
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.PrerenderedCondition, status, reason, msg)
	}
	if pages >= set.PageLimit() {
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.FullCondition, metav1.ConditionTrue, pagesv1alpha1.ReasonMaxPages,
			fmt.Sprintf("the set holds %d pages, its maxPages; requests for new paths get 503", pages))
	} else {
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.FullCondition, metav1.ConditionFalse, pagesv1alpha1.ReasonBelowMaxPages,
			fmt.Sprintf("the set holds %d of at most %d pages", pages, set.PageLimit()))
	}
	wasCollision := meta.IsStatusConditionTrue(base.Status.Conditions, pagesv1alpha1.NameCollisionCondition)
	if len(run.collisions) > 0 {
		slices.Sort(run.collisions)
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.NameCollisionCondition, metav1.ConditionTrue, pagesv1alpha1.ReasonNameTaken,
			fmt.Sprintf("the page names of %d prerender paths are taken by StaticPages that are not the set's pages for them; those paths get no page: %s",
				len(run.collisions), listSome(run.collisions)))
	} else {
		meta.RemoveStatusCondition(&set.Status.Conditions, pagesv1alpha1.NameCollisionCondition)
	}
	wasOverBytes := meta.IsStatusConditionTrue(base.Status.Conditions, pagesv1alpha1.MaxBytesExceededCondition)
	if pinned := prerenderedBytes(run.children); pinned > set.ByteLimit() {
		setStatusCondition(&set.Status.Conditions, set.Generation, pagesv1alpha1.MaxBytesExceededCondition, metav1.ConditionTrue, pagesv1alpha1.ReasonPrerenderedOverMaxBytes,
			fmt.Sprintf("the set's prerendered pages take %d bytes, over its maxBytes (%s); they are never removed for bytes: raise maxBytes or prerender fewer paths", pinned, maxBytesOf(set)))
	} else {
		meta.RemoveStatusCondition(&set.Status.Conditions, pagesv1alpha1.MaxBytesExceededCondition)
	}
	set.Status.ObservedGeneration = set.Generation

	if !equality.Semantic.DeepEqual(base.Status, set.Status) {
		if err := r.Status().Patch(ctx, set, client.MergeFrom(base)); err != nil {
			return fmt.Errorf("updating status of StaticPageSet %s: %w", run.req.NamespacedName, err)
		}
	}

	if base.Status.ObservedGeneration != set.Generation && len(run.skipped) > 0 {
		r.event(set, corev1.EventTypeWarning, pagesv1alpha1.EventPathsSkipped, "Prerender",
			"%d listed paths do not match route %s and get no page: %s", len(run.skipped), set.Spec.Route, listSome(run.skipped))
	}
	ready0 := meta.FindStatusCondition(set.Status.Conditions, pagesv1alpha1.ReadyCondition)
	switch {
	case ready0.Reason == wasReady:
	case ready0.Status != metav1.ConditionTrue:
		r.event(set, corev1.EventTypeWarning, ready0.Reason, "Reconcile", "%s", ready0.Message)
	case wasReady != "":
		r.event(set, corev1.EventTypeNormal, ready0.Reason, "Reconcile", "%s", ready0.Message)
	}
	if full := meta.FindStatusCondition(set.Status.Conditions, pagesv1alpha1.FullCondition); full.Status == metav1.ConditionTrue && !wasFull {
		r.event(set, corev1.EventTypeWarning, full.Reason, "Reconcile", "%s", full.Message)
	}
	if c := meta.FindStatusCondition(set.Status.Conditions, pagesv1alpha1.NameCollisionCondition); c != nil && !wasCollision {
		r.event(set, corev1.EventTypeWarning, c.Reason, "Prerender", "%s", c.Message)
	}
	if c := meta.FindStatusCondition(set.Status.Conditions, pagesv1alpha1.MaxBytesExceededCondition); c != nil && !wasOverBytes {
		r.event(set, corev1.EventTypeWarning, c.Reason, "Evict", "%s", c.Message)
	}
	pre := meta.FindStatusCondition(set.Status.Conditions, pagesv1alpha1.PrerenderedCondition)
	switch {
	case pre.Reason == wasPrerendered:
	case pre.Reason == pagesv1alpha1.ReasonSitemapError:
		r.event(set, corev1.EventTypeWarning, pre.Reason, "Prerender", "%s", pre.Message)
	case wasPrerendered == pagesv1alpha1.ReasonSitemapError:
		r.event(set, corev1.EventTypeNormal, pagesv1alpha1.EventRecovered, "Prerender", "the sitemap is read again: %s", pre.Message)
	}
	return nil
}

// prerenderedBytes is what the children no eviction takes (all but those
// requests created) take toward maxBytes.
func prerenderedBytes(children map[string]*pagesv1alpha1.StaticPage) int64 {
	var n int64
	for _, c := range children {
		if createdBy(c) != pagesv1alpha1.CreatedByRequest {
			n += c.PageBytes()
		}
	}
	return n
}

// maxBytesOf is the set's maxBytes as its spec says it, or the default.
func maxBytesOf(set *pagesv1alpha1.StaticPageSet) string {
	if set.Spec.MaxBytes == nil {
		return resource.NewQuantity(pagesv1alpha1.DefaultMaxBytes, resource.BinarySI).String()
	}
	return set.Spec.MaxBytes.String()
}

// prerendered is the Prerendered condition of a usable set.
func prerendered(run *setRun) (metav1.ConditionStatus, string, string) {
	var notes []string
	if len(run.skipped) > 0 {
		notes = append(notes, fmt.Sprintf("%d listed paths do not match the route", len(run.skipped)))
	}
	if run.explicit > 0 {
		notes = append(notes, fmt.Sprintf("%d paths are served by StaticPages of their own", run.explicit))
	}
	if len(run.collisions) > 0 {
		notes = append(notes, fmt.Sprintf("%d paths' page names are taken (see NameCollision)", len(run.collisions)))
	}
	suffix := ""
	if len(notes) > 0 {
		suffix = "; " + strings.Join(notes, "; ")
	}
	switch {
	case run.sitemapErr != nil:
		return metav1.ConditionFalse, pagesv1alpha1.ReasonSitemapError,
			fmt.Sprintf("pages made from the sitemap before stay: %v", run.sitemapErr)
	case run.sitemapPending:
		return metav1.ConditionFalse, pagesv1alpha1.ReasonPrerendered, "reading the sitemap" + suffix
	case run.missing > 0 && len(run.children) >= int(run.set.PageLimit()):
		return metav1.ConditionFalse, pagesv1alpha1.ReasonMaxPages,
			fmt.Sprintf("%d prerender paths have no page: the set holds maxPages (%d) pages%s", run.missing, run.set.PageLimit(), suffix)
	case run.missing > 0:
		return metav1.ConditionFalse, pagesv1alpha1.ReasonPrerendered,
			fmt.Sprintf("%d prerender paths have no page yet%s", run.missing, suffix)
	}
	if len(run.paths) == 0 {
		return metav1.ConditionTrue, pagesv1alpha1.ReasonPrerendered, "no path to prerender" + suffix
	}
	return metav1.ConditionTrue, pagesv1alpha1.ReasonPrerendered,
		fmt.Sprintf("all %d prerender paths have pages%s", len(run.paths), suffix)
}

func (r *StaticPageSetReconciler) timeout(set *pagesv1alpha1.StaticPageSet) time.Duration {
	return originTimeout(set.Spec.Origin, r.DefaultTimeout, r.MaxTimeout)
}

func (r *StaticPageSetReconciler) event(set *pagesv1alpha1.StaticPageSet, kind, why, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(set, nil, kind, why, action, note, args...)
	}
}

// isReady reports whether a page's Ready condition is True.
func isReady(p *pagesv1alpha1.StaticPage) bool {
	return meta.IsStatusConditionTrue(p.Status.Conditions, pagesv1alpha1.ReadyCondition)
}

// createdBy is a child's created-by label.
func createdBy(c *pagesv1alpha1.StaticPage) string { return c.Labels[pagesv1alpha1.CreatedByLabel] }

func mapValues(m map[string]*pagesv1alpha1.StaticPage) []*pagesv1alpha1.StaticPage {
	out := make([]*pagesv1alpha1.StaticPage, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

func sortedKeys(m map[string]*pagesv1alpha1.StaticPage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// listSome lists paths for an Event, the first ten of them.
func listSome(paths []string) string {
	const most = 10
	if len(paths) <= most {
		return strings.Join(paths, ", ")
	}
	return strings.Join(paths[:most], ", ") + fmt.Sprintf(" and %d more", len(paths)-most)
}
