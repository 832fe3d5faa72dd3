package controllers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	crhandler "sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/purge"
	"github.com/isr-operator/isr-operator/internal/render"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/tags"
)

// StaticPageReconciler renders StaticPages from their origins into storage.
type StaticPageReconciler struct {
	client.Client
	// Fetcher renders pages from origins.
	Fetcher *render.Fetcher
	// Store keeps rendered pages.
	Store storage.Store
	// Recorder emits Events when something changes.
	Recorder events.EventRecorder
	// Clock is the time source; tests may inject a fake one.
	Clock clock.PassiveClock
	// DefaultTimeout bounds an origin fetch when the page sets none.
	DefaultTimeout time.Duration
	// MaxTimeout caps every origin fetch, whatever the page sets; 0 means
	// no cap.
	MaxTimeout time.Duration
	// Hosts caps renders in flight per origin host, counted by its name and
	// by each address it resolves to; nil means no cap.
	Hosts *render.HostLimiter
	// Namespaces caps renders in flight per namespace; nil means no cap.
	Namespaces *render.HostLimiter
	// Resolver looks up the addresses of origin hosts for the per-host
	// cap; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// FinalizeTimeout is how long a deleted page waits for its objects to
	// be removed from an object store that fails, before it is released.
	FinalizeTimeout time.Duration
	// Purger removes pages with new content from the CDNs in front; nil
	// purges nothing.
	Purger *Purger
	// Grants says which hosts each namespace may serve; nil allows all
	// (--host-grants=off).
	Grants *kube.HostGrants

	// retries spaces out renders of a failing page: the delay doubles per
	// consecutive failure up to Options.RetryMaxDelay, and resets on success.
	retries workqueue.TypedRateLimiter[reconcile.Request]
}

// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpages,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpages/finalizers,verbs=update
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpages/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the reconciler. Status-only updates do not
// trigger it: it runs on spec and annotation changes and on its own requeues.
func (r *StaticPageReconciler) SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	r.retries = workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](opts.RetryBaseDelay, opts.RetryMaxDelay)
	// Only an object store shares content between pages (digestInUse).
	if r.objectStore() != nil {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), &pagesv1alpha1.StaticPage{}, digestIndex, func(o client.Object) []string {
			if d := o.(*pagesv1alpha1.StaticPage).Status.Digest; d != "" {
				return []string{d}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("indexing pages by digest: %w", err)
		}
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&pagesv1alpha1.StaticPage{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		// A page ConfigMap deleted behind the manager's back is published
		// again at once, not at the page's next interval. Only metadata is
		// watched: the manager never reads a stored body back.
		Owns(&corev1.ConfigMap{}, builder.OnlyMetadata, builder.WithPredicates(predicate.Funcs{
			CreateFunc:  func(event.CreateEvent) bool { return false },
			UpdateFunc:  func(event.UpdateEvent) bool { return false },
			DeleteFunc:  func(event.DeleteEvent) bool { return true },
			GenericFunc: func(event.GenericEvent) bool { return false },
		})).
		// A set's new template or interval reaches its pages at once.
		Watches(&pagesv1alpha1.StaticPageSet{}, crhandler.EnqueueRequestsFromMapFunc(r.setPages),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	if r.Grants.Enabled() {
		// A grant given or taken back reaches the namespace's pages at once.
		b = b.Watches(kube.NamespaceMetadata(), crhandler.EnqueueRequestsFromMapFunc(r.namespacePages),
			builder.WithPredicates(kube.GrantsChanged()))
	}
	// Namespaces take turns for the workers (namespaceRoundRobin).
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentRenders, NewQueue: newFairQueue}).
		Named("staticpage").
		Complete(r)
}

// Reconcile renders the page when it is due and schedules the next look.
func (r *StaticPageReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	page := &pagesv1alpha1.StaticPage{}
	if err := r.Get(ctx, req.NamespacedName, page); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !page.DeletionTimestamp.IsZero() {
		// A ConfigMap is owned by the StaticPage and goes with it; objects
		// in an object store are removed here.
		return r.finalize(ctx, page)
	}
	if err := r.ensureFinalizer(ctx, page); err != nil {
		return ctrl.Result{}, err
	}
	// A StaticPageSet's page gets its origin and interval from its set;
	// from here on it is handled like any other page.
	if ok, err := r.resolveSet(ctx, page); !ok || err != nil {
		return ctrl.Result{}, err
	}
	if ok, err := r.checkGrant(ctx, page); !ok || err != nil {
		return ctrl.Result{}, err
	}
	if err := r.recordClaim(ctx, page); err != nil {
		return ctrl.Result{}, err
	}
	if res, done, err := r.expireAbsent(ctx, page); done || err != nil {
		return res, err
	}

	now := r.Clock.Now()
	decision := Decide(page, now)
	if !decision.Render && page.Status.Digest != "" && !page.Suspended() {
		missing, err := r.storedMissing(ctx, page)
		if err != nil {
			return ctrl.Result{}, err
		}
		if missing {
			decision = Decision{Render: true, Why: DueStorageMissing}
		}
	}
	if !decision.Render {
		return ctrl.Result{RequeueAfter: decision.After}, r.recordIdle(ctx, page)
	}
	first := decision.Why == DueSpecChanged || decision.Why == DueFirstRender
	release, ok := r.acquire(ctx, page)
	if !ok {
		// Not a failure: the page is due and renders as soon as its host
		// and its namespace have room, without holding a worker that other
		// hosts' and namespaces' pages can use. A first render put off says
		// so at once.
		if first {
			if err := r.markRendering(ctx, page); err != nil {
				return ctrl.Result{}, err
			}
		}
		return ctrl.Result{RequeueAfter: hostBusyDelay}, nil
	}
	defer release()
	settled := func() {}
	if first {
		settled = r.markRenderingAfter(ctx, page, slowRender)
	}
	log.FromContext(ctx).V(1).Info("rendering", "why", decision.Why, "origin", page.Spec.Origin.URL)
	res, err := r.render(ctx, page, settled)
	var failure *render.Error
	switch {
	case errors.As(err, &failure) && failure.Retryable:
		// Expected trouble with an origin or storage is no controller
		// error: status, an Event and this line say what happened; the
		// retry backs off.
		if requestChild(page) && page.Status.RenderedAt == nil {
			log.FromContext(ctx).Info("render of a requested path failed; forgetting it", "reason", failure.Reason, "error", failure.Error())
			r.retries.Forget(req)
			return ctrl.Result{}, r.dropFailedRequest(ctx, page)
		}
		after := r.retries.When(req)
		log.FromContext(ctx).Info("render failed; keeping the last good page", "reason", failure.Reason, "error", failure.Error(), "retryIn", after)
		return ctrl.Result{RequeueAfter: after}, nil
	case err != nil:
		return ctrl.Result{}, err
	}
	r.retries.Forget(req)
	return res, nil
}

// checkGrant refuses a page whose host is not granted to its namespace:
// Ready=False, reason HostNotAllowed, with the command that grants it.
// Nothing is rendered; the servers do not serve it. A grant given later
// renders it again (the namespace watch brings it back here).
func (r *StaticPageReconciler) checkGrant(ctx context.Context, page *pagesv1alpha1.StaticPage) (bool, error) {
	ok, why, err := r.Grants.Check(ctx, page.Namespace, page.Spec.Host)
	if err != nil || ok {
		return ok, err
	}
	return false, r.notRendered(ctx, page, pagesv1alpha1.ReasonHostNotAllowed, why)
}

// recordClaim records in status.claim when the page claimed its host and
// route, once per host and route: its creation time the first time, the
// time of the change when either changes, so that moving an old page onto
// a route never takes it from a page that claimed it earlier. The servers
// serve a page whose recorded claim is for another host or route only once
// this has run.
func (r *StaticPageReconciler) recordClaim(ctx context.Context, page *pagesv1alpha1.StaticPage) error {
	if page.Status.Claim.Holds(page.Spec.Host, page.Spec.Route) {
		return nil
	}
	base := page.DeepCopy()
	page.Status.Claim = pagesv1alpha1.NewClaim(page.Status.Claim, page.Spec.Host, page.Spec.Route,
		page.CreationTimestamp, r.Clock.Now())
	// The spec in memory may hold what a StaticPageSet resolved for its
	// page, which is kept; observedGeneration is the render's to move.
	spec := page.Spec
	if err := r.Status().Patch(ctx, page, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("recording the route claim of %s/%s: %w", page.Namespace, page.Name, err)
	}
	page.Spec = spec
	return nil
}

// render fetches the origin and stores the result, then records it in
// status. An origin or storage failure leaves the stored page untouched and
// comes back as a retryable *render.Error whose reason status now shows; any
// other error is a failure to talk to the API server. settled is called
// once the origin has answered, before any status write.
func (r *StaticPageReconciler) render(ctx context.Context, page *pagesv1alpha1.StaticPage, settled func()) (ctrl.Result, error) {
	base := page.DeepCopy()
	started := r.Clock.Now()
	result, err := r.Fetcher.Fetch(ctx, page.Spec.Origin.URL, r.timeout(page))
	settled()
	renderSeconds.Observe(r.Clock.Since(started).Seconds())

	var ferr *render.Error
	switch {
	case errors.As(err, &ferr) && ferr.Reason == pagesv1alpha1.ReasonWithdrawn:
		if err := r.Store.Withdraw(ctx, page); err != nil {
			storage.CountError(storage.OpWithdraw, err)
			return r.failed(ctx, base, page, pagesv1alpha1.ReasonStorageError, err)
		}
		return r.withdrawn(ctx, base, page, started)
	case ferr != nil:
		return r.failed(ctx, base, page, ferr.Reason, err)
	case err != nil:
		return r.failed(ctx, base, page, pagesv1alpha1.ReasonOriginUnreachable, err)
	}

	if result.FinalURL != "" && requestChild(page) {
		to, err := r.redirectTarget(ctx, page, result.FinalURL)
		if err != nil {
			return ctrl.Result{}, err
		}
		if to != page.Spec.Route {
			if err := r.Store.Withdraw(ctx, page); err != nil {
				storage.CountError(storage.OpWithdraw, err)
				return r.failed(ctx, base, page, pagesv1alpha1.ReasonStorageError, err)
			}
			return r.redirected(ctx, base, page, to, result.FinalURL, started)
		}
	}

	stored, err := r.Store.Put(ctx, page, result)
	storage.CountError(storage.OpPut, err)
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		return r.failed(ctx, base, page, pagesv1alpha1.ReasonStorageUnavailable, err)
	case errors.Is(err, storage.ErrTooLarge):
		return r.failed(ctx, base, page, pagesv1alpha1.ReasonStorageTooLarge, err)
	case errors.Is(err, storage.ErrConflict):
		return r.failed(ctx, base, page, pagesv1alpha1.ReasonStorageConflict, err)
	case err != nil:
		return r.failed(ctx, base, page, pagesv1alpha1.ReasonStorageError, err)
	}
	if stored.Changed {
		storageWritesTotal.Inc()
	}
	return r.rendered(ctx, base, page, result, stored.Bytes, started)
}

// rendered records a successful render, whose content takes storedBytes,
// and schedules the next one.
func (r *StaticPageReconciler) rendered(ctx context.Context, base, page *pagesv1alpha1.StaticPage, result *render.Page, storedBytes int64, at time.Time) (ctrl.Result, error) {
	rendersTotal.WithLabelValues(pagesv1alpha1.ReasonRendered).Inc()
	wasFailing := failing(base)
	newContent := base.Status.Digest != result.Digest

	page.Status.RenderedAt = &metav1.Time{Time: at}
	page.Status.Digest = result.Digest
	page.Status.Size = int64(len(result.Body))
	page.Status.StoredBytes = storedBytes
	page.Status.ContentType = result.ContentType
	page.Status.OriginURL = page.Spec.Origin.URL
	page.Status.RedirectRoute = ""
	page.Status.OriginTags = result.Tags
	page.Status.DroppedOriginTags = int32(min(result.DroppedTags, math.MaxInt32))
	page.Status.Tags = pageTags(page)
	r.handled(page)
	if newContent {
		r.purgePending(ctx, page, at)
	}
	setStatusCondition(&page.Status.Conditions, page.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionTrue, pagesv1alpha1.ReasonRendered,
		fmt.Sprintf("serving %d bytes rendered from %s", len(result.Body), page.Spec.Origin.URL))
	if err := r.patchStatus(ctx, base, page); err != nil {
		return ctrl.Result{}, err
	}
	r.awaitCached(ctx, page)
	switch {
	case wasFailing:
		r.event(page, corev1.EventTypeNormal, pagesv1alpha1.EventRecovered, "origin %s answers again; serving %s", page.Spec.Origin.URL, result.Digest)
	case newContent:
		r.event(page, corev1.EventTypeNormal, pagesv1alpha1.ReasonRendered, "new content %s (%d bytes)", result.Digest, len(result.Body))
	}
	if newContent {
		r.Purger.Changed(purgeChange(page))
	}
	return ctrl.Result{RequeueAfter: NextAfterRender(page, at, r.Clock.Now())}, nil
}

// redirected records that the origin redirected a page a visitor's request
// created to finalURL, which is the route to of its set ("" when it is
// none): nothing is stored for the page, whose record the servers answer
// with a 308 to that route (or 404), until it expires as a withdrawn page
// does.
func (r *StaticPageReconciler) redirected(ctx context.Context, base, page *pagesv1alpha1.StaticPage, to, finalURL string, at time.Time) (ctrl.Result, error) {
	rendersTotal.WithLabelValues(pagesv1alpha1.ReasonRedirected).Inc()
	was := conditionReason(base.Status.Conditions, pagesv1alpha1.ReadyCondition)
	hadContent := base.Status.Digest != ""
	page.Status.RenderedAt = &metav1.Time{Time: at}
	page.Status.Digest = ""
	page.Status.Size, page.Status.StoredBytes = 0, 0
	page.Status.ContentType = ""
	page.Status.OriginURL = page.Spec.Origin.URL
	page.Status.RedirectRoute = to
	page.Status.OriginTags, page.Status.DroppedOriginTags = nil, 0
	page.Status.Tags = pageTags(page)
	r.handled(page)
	if hadContent {
		r.purgePending(ctx, page, at)
	}
	msg := fmt.Sprintf("origin %s redirected to %s, which is no path of the set; the route is served as 404", page.Spec.Origin.URL, finalURL)
	if to != "" {
		msg = fmt.Sprintf("origin %s redirected to %s; nothing is stored and the route is answered with a 308 to %s", page.Spec.Origin.URL, finalURL, to)
	}
	setStatusCondition(&page.Status.Conditions, page.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionFalse, pagesv1alpha1.ReasonRedirected, msg)
	if err := r.patchStatus(ctx, base, page); err != nil {
		return ctrl.Result{}, err
	}
	r.awaitCached(ctx, page)
	if was != pagesv1alpha1.ReasonRedirected || base.Status.RedirectRoute != to {
		r.event(page, corev1.EventTypeNormal, pagesv1alpha1.ReasonRedirected, "%s", msg)
	}
	if hadContent {
		r.Purger.Changed(purgeChange(page))
	}
	return ctrl.Result{RequeueAfter: NextAfterRender(page, at, r.Clock.Now())}, nil
}

// withdrawn records that the origin no longer has the page.
func (r *StaticPageReconciler) withdrawn(ctx context.Context, base, page *pagesv1alpha1.StaticPage, at time.Time) (ctrl.Result, error) {
	rendersTotal.WithLabelValues(pagesv1alpha1.ReasonWithdrawn).Inc()
	was := conditionReason(base.Status.Conditions, pagesv1alpha1.ReadyCondition)
	page.Status.RenderedAt = &metav1.Time{Time: at}
	page.Status.Digest = ""
	page.Status.Size, page.Status.StoredBytes = 0, 0
	page.Status.ContentType = ""
	page.Status.OriginURL = page.Spec.Origin.URL
	page.Status.RedirectRoute = ""
	page.Status.OriginTags, page.Status.DroppedOriginTags = nil, 0
	page.Status.Tags = pageTags(page)
	r.handled(page)
	if was != pagesv1alpha1.ReasonWithdrawn {
		r.purgePending(ctx, page, at)
	}
	setStatusCondition(&page.Status.Conditions, page.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionFalse, pagesv1alpha1.ReasonWithdrawn,
		fmt.Sprintf("origin %s answered 404 or 410; the route is served as 404", page.Spec.Origin.URL))
	if err := r.patchStatus(ctx, base, page); err != nil {
		return ctrl.Result{}, err
	}
	r.awaitCached(ctx, page)
	if was != pagesv1alpha1.ReasonWithdrawn {
		r.event(page, corev1.EventTypeNormal, pagesv1alpha1.ReasonWithdrawn, "origin %s says the page does not exist; withdrawn", page.Spec.Origin.URL)
		r.Purger.Changed(purgeChange(page))
	}
	return ctrl.Result{RequeueAfter: NextAfterRender(page, at, r.Clock.Now())}, nil
}

// failed records a failure without touching the stored page, and returns
// it as a retryable *render.Error.
func (r *StaticPageReconciler) failed(ctx context.Context, base, page *pagesv1alpha1.StaticPage, why string, cause error) (ctrl.Result, error) {
	rendersTotal.WithLabelValues(why).Inc()
	was := conditionReason(base.Status.Conditions, pagesv1alpha1.ReadyCondition)
	msg := cause.Error()
	if page.Status.Digest != "" {
		msg = fmt.Sprintf("still serving the page rendered at %s: %s",
			page.Status.RenderedAt.UTC().Format(time.RFC3339), msg)
	}
	setStatusCondition(&page.Status.Conditions, page.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionFalse, why, msg)
	if err := r.patchStatus(ctx, base, page); err != nil {
		return ctrl.Result{}, err
	}
	if was != why {
		r.event(page, corev1.EventTypeWarning, why, "%s", msg)
	}
	return ctrl.Result{}, &render.Error{Reason: why, Retryable: true, Err: cause}
}

// recordIdle keeps observedGeneration current when a spec change needs no
// render (suspending the page; a StaticPageSet's new interval), and
// status.tags when the tags declared change (a StaticPageSet's new tags,
// which change no generation of its pages).
func (r *StaticPageReconciler) recordIdle(ctx context.Context, page *pagesv1alpha1.StaticPage) error {
	rendered := page.Status.RenderedAt != nil
	tagged := pageTags(page)
	if page.Status.ObservedGeneration == page.Generation && (!rendered || slices.Equal(page.Status.Tags, tagged)) {
		return nil
	}
	base := page.DeepCopy()
	if rendered {
		page.Status.Tags = tagged
	}
	if page.Suspended() && page.Status.RenderedAt == nil {
		setStatusCondition(&page.Status.Conditions, page.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionFalse, pagesv1alpha1.ReasonSuspended, "spec.suspend is set; the page has never been rendered")
	}
	return r.patchStatus(ctx, base, page)
}

// slowRender is how long a first render may take before the page says
// Ready=Unknown (Rendering): a quick one goes straight to its outcome, one
// status write instead of two, which at thousands of new pages is most of
// what they add to etcd.
const slowRender = time.Second

// markRenderingAfter marks page Rendering (markRendering, on a copy) if the
// returned settle function has not been called within d. Settle stops the
// mark, waiting for one already being written, so that the render's own
// status write always comes last.
func (r *StaticPageReconciler) markRenderingAfter(ctx context.Context, page *pagesv1alpha1.StaticPage, d time.Duration) (settle func()) {
	if meta.FindStatusCondition(page.Status.Conditions, pagesv1alpha1.ReadyCondition) != nil {
		return func() {}
	}
	marked := page.DeepCopy()
	var mu sync.Mutex
	done := false
	t := time.AfterFunc(d, func() {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		if err := r.markRendering(ctx, marked); err != nil {
			log.FromContext(ctx).Info("could not mark a slow first render", "error", err.Error())
		}
	})
	return func() {
		t.Stop()
		mu.Lock()
		done = true
		mu.Unlock()
	}
}

// markRendering sets Ready=Unknown while the first render of a spec runs.
func (r *StaticPageReconciler) markRendering(ctx context.Context, page *pagesv1alpha1.StaticPage) error {
	if meta.FindStatusCondition(page.Status.Conditions, pagesv1alpha1.ReadyCondition) != nil {
		return nil
	}
	base := page.DeepCopy()
	setStatusCondition(&page.Status.Conditions, page.Generation, pagesv1alpha1.ReadyCondition, metav1.ConditionUnknown, pagesv1alpha1.ReasonRendering, "fetching "+page.Spec.Origin.URL)
	return r.patchStatus(ctx, base, page)
}

// patchStatus writes page's status, with observedGeneration, as a merge
// patch against base. Every condition is stamped with the same generation
// as status.observedGeneration: `kubectl wait --for=condition=Ready` reads
// the condition's, and a spec change that needs no render (suspend) must
// not leave it behind.
func (r *StaticPageReconciler) patchStatus(ctx context.Context, base, page *pagesv1alpha1.StaticPage) error {
	page.Status.ObservedGeneration = page.Generation
	for i := range page.Status.Conditions {
		page.Status.Conditions[i].ObservedGeneration = page.Generation
	}
	// The patch answers with the stored object; the spec in memory may
	// hold what a StaticPageSet resolved for its page, which is kept.
	spec := page.Spec
	if err := r.Status().Patch(ctx, page, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("updating status of %s/%s: %w", page.Namespace, page.Name, err)
	}
	page.Spec = spec
	// Later steps diff against what is now stored.
	base.Status = *page.Status.DeepCopy()
	return nil
}

// cacheCatchUp bounds how long a render waits for the manager's cache to
// hold the status it wrote.
const cacheCatchUp = 2 * time.Second

// awaitCached waits, up to cacheCatchUp, until the cache holds what page's
// status now says of its last render. The page's next reconcile may come at
// once (an event that arrived during the render), and Decide reads the
// cache: a status from before the render would render the page again, as a
// StaticPageSet's new template (which changes no generation of its pages)
// otherwise does.
func (r *StaticPageReconciler) awaitCached(ctx context.Context, page *pagesv1alpha1.StaticPage) {
	key := client.ObjectKeyFromObject(page)
	_ = wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, cacheCatchUp, true, func(ctx context.Context) (bool, error) {
		cur := &pagesv1alpha1.StaticPage{}
		if err := r.Get(ctx, key, cur); err != nil {
			return apierrors.IsNotFound(err), nil
		}
		return cur.UID != page.UID || sameRender(&cur.Status, &page.Status), nil
	})
}

// sameRender reports whether status a says what b says of the last render,
// as far as Decide reads it.
func sameRender(a, b *pagesv1alpha1.StaticPageStatus) bool {
	return a.ObservedGeneration >= b.ObservedGeneration && a.OriginURL == b.OriginURL &&
		a.LastHandledRevalidate == b.LastHandledRevalidate && a.Digest == b.Digest &&
		a.RenderedAt.Equal(b.RenderedAt)
}

// handled echoes the revalidate annotation acted on.
func (r *StaticPageReconciler) handled(page *pagesv1alpha1.StaticPage) {
	if v := page.Annotations[pagesv1alpha1.RevalidateAnnotation]; v != "" {
		page.Status.LastHandledRevalidate = v
	}
}

// storedMissing is true when the content status points to is not in
// storage (someone deleted it): the page must be published again.
func (r *StaticPageReconciler) storedMissing(ctx context.Context, page *pagesv1alpha1.StaticPage) (bool, error) {
	has, err := r.Store.Has(ctx, page, page.Status.Digest)
	storage.CountError(storage.OpHas, err)
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		// Not a reason to re-render: the store's own failures surface at
		// the next publish.
		log.FromContext(ctx).V(1).Info("cannot check the stored page", "error", err.Error())
		return false, nil
	case err != nil:
		return false, fmt.Errorf("looking for the stored page of %s/%s: %w", page.Namespace, page.Name, err)
	}
	return !has, nil
}

// hostBusyDelay is how soon a page whose origin host or namespace is at its
// cap is tried again.
const hostBusyDelay = 200 * time.Millisecond

// resolveTimeout bounds the lookup of an origin host's addresses for the
// per-host cap; a host that does not resolve in time is capped by its name.
const resolveTimeout = 2 * time.Second

// acquire takes a render slot in page's namespace, then in its origin
// host's, or none; false means the page is put off (and counted).
func (r *StaticPageReconciler) acquire(ctx context.Context, page *pagesv1alpha1.StaticPage) (release func(), ok bool) {
	releaseNamespace, ok := r.Namespaces.TryAcquire(page.Namespace)
	if !ok {
		deferredTotal.WithLabelValues("namespace").Inc()
		return nil, false
	}
	releaseHost, ok := r.Hosts.TryAcquireAll(r.originKeys(ctx, page)...)
	if !ok {
		releaseNamespace()
		deferredTotal.WithLabelValues("host").Inc()
		return nil, false
	}
	return func() { releaseHost(); releaseNamespace() }, true
}

// originKeys are what the per-host cap counts a page's render by: see
// originHostKeys. The lookup is skipped when there is no cap.
func (r *StaticPageReconciler) originKeys(ctx context.Context, page *pagesv1alpha1.StaticPage) []string {
	host := originHost(page)
	if r.Hosts == nil || r.Hosts.Max <= 0 {
		return []string{host}
	}
	resolver := r.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		log.FromContext(ctx).V(1).Info("origin host does not resolve; capping its renders by its name", "host", host, "error", err.Error())
	}
	return originHostKeys(host, addrs)
}

// originHostKeys are the per-host cap's keys for an origin host name and
// the addresses it resolves to: the name and each address, without ports,
// so that neither another port nor another name of the same server gets
// around the cap.
func originHostKeys(host string, addrs []netip.Addr) []string {
	keys := []string{host}
	if ip, err := netip.ParseAddr(host); err == nil {
		keys[0] = ip.Unmap().String()
	}
	for _, a := range addrs {
		keys = append(keys, a.Unmap().String())
	}
	return keys
}

// originHost is the origin URL's host name, lowercased, without brackets
// or port.
func originHost(page *pagesv1alpha1.StaticPage) string {
	u, err := url.Parse(page.Spec.Origin.URL)
	if err != nil || u.Host == "" {
		return page.Spec.Origin.URL
	}
	return strings.ToLower(u.Hostname())
}

func (r *StaticPageReconciler) timeout(page *pagesv1alpha1.StaticPage) time.Duration {
	return originTimeout(page.Spec.Origin, r.DefaultTimeout, r.MaxTimeout)
}

// originTimeout bounds a fetch of origin: its own timeout, else the
// manager's --default-origin-timeout (def), else 10s; at most the manager's
// --max-origin-timeout (max, when above 0), so that no page holds a render
// worker longer, whatever its namespace's author set.
func originTimeout(origin pagesv1alpha1.Origin, def, max time.Duration) time.Duration {
	d := 10 * time.Second
	switch {
	case origin.Timeout != nil && origin.Timeout.Duration > 0:
		d = origin.Timeout.Duration
	case def > 0:
		d = def
	}
	if max > 0 && d > max {
		d = max
	}
	return d
}

func (r *StaticPageReconciler) event(page *pagesv1alpha1.StaticPage, kind, why, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(page, nil, kind, why, "Render", note, args...)
	}
}

// purgeChange is page's published content, as a purge names it.
// purgePending marks the purge of page's new content (status.digest)
// PurgePending when a CDN covers the page, in the status write that
// publishes the content, so that whoever reads the new digest also reads
// that its purge is not done. A page no CDN covers keeps its last purge.
func (r *StaticPageReconciler) purgePending(ctx context.Context, page *pagesv1alpha1.StaticPage, at time.Time) {
	covered, err := r.Purger.Covers(ctx, page)
	if err != nil {
		log.FromContext(ctx).Error(err, "finding the CDNs in front of a page; its purge is not marked pending")
		return
	}
	if covered {
		page.Status.LastPurge = pagesv1alpha1.PurgeStatus{Time: &metav1.Time{Time: at}, Result: pagesv1alpha1.ReasonPurgePending, Digest: page.Status.Digest}
	}
}

func purgeChange(page *pagesv1alpha1.StaticPage) purge.Change {
	return purge.Change{Namespace: page.Namespace, Name: page.Name, Host: page.Spec.Host, Route: page.Spec.Route, Digest: page.Status.Digest}
}

// pageTags is every tag page carries (tags.Page.All): its identity tags,
// spec.tags (for a set's page, as resolveSet filled them in) and the tags
// its origin sent at the last render.
func pageTags(page *pagesv1alpha1.StaticPage) []string {
	return tags.Page{
		Namespace: page.Namespace,
		Name:      page.Name,
		Set:       page.OwnerSet(),
		Declared:  page.Spec.Tags,
		Origin:    page.Status.OriginTags,
	}.All()
}

// failing is true when the page's last render failed.
func failing(page *pagesv1alpha1.StaticPage) bool {
	switch conditionReason(page.Status.Conditions, pagesv1alpha1.ReadyCondition) {
	case "", pagesv1alpha1.ReasonRendered, pagesv1alpha1.ReasonWithdrawn, pagesv1alpha1.ReasonRedirected, pagesv1alpha1.ReasonRendering, pagesv1alpha1.ReasonSuspended:
		return false
	}
	return true
}
