package server

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/storage"
)

// RouteSync keeps a Table in step with the StaticPages and their stored
// content, as seen through the manager's cache.
type RouteSync struct {
	// Client reads StaticPages (a cached client).
	Client client.Client
	// Store loads page bodies.
	Store storage.Reader
	// Table is what the handler serves from.
	Table *Table
	// Policy sets the cached Cache-Control values and body limit.
	Policy CachePolicy
	// ObjectStore is true when Store is an object store (S3): no ConfigMap
	// is watched, and content missing from the store is asked to be
	// published again, since no event would bring it back. Otherwise page
	// ConfigMaps are watched by their metadata only, and Store reads a body
	// when its page is loaded.
	ObjectStore bool
	// Revalidator asks for that new publish; nil leaves it to the manager.
	Revalidator Revalidator
	// CacheSize bounds the bytes of bodies held, with either store: pages
	// start cold and are loaded on request. 0 holds every page, loaded
	// before the server reports ready.
	CacheSize int64
	// SetSync, when set, loads the StaticPageSets before the server reports
	// ready and keeps them in step; its Sets count each set's pages.
	SetSync *SetSync
	// Fallback, when set, is told of every change of a set's page, so that
	// requests waiting for it wake.
	Fallback *Fallback
	// Grants says which hosts each namespace may serve: a page whose host
	// is not granted to its namespace is not served. Nil serves every page
	// (--host-grants=off).
	Grants *kube.HostGrants

	ready atomic.Bool
	cache *bodyCache
	// flights runs one load per cold page and digest at a time (Load).
	flights singleflight.Group
	loads   atomic.Int64
}

// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpages,verbs=get;list;watch;patch;create
// +kubebuilder:rbac:groups=pages.isr-operator.io,resources=staticpagesets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch

// SetupWithManager watches StaticPages and the metadata of page ConfigMaps
// (a change of one brings its page back to Reconcile; the cache holds no
// body), and fills the table once the caches have synced before the
// server reports ready.
func (s *RouteSync) SetupWithManager(mgr ctrl.Manager) error {
	if s.CacheSize > 0 {
		s.cache = newBodyCache(s.CacheSize)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&pagesv1alpha1.StaticPage{})
	if !s.ObjectStore {
		b = b.WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestForOwner(
			mgr.GetScheme(), mgr.GetRESTMapper(), &pagesv1alpha1.StaticPage{}, handler.OnlyControllerOwner()))
	}
	err := b.WithOptions(controllerOptions()).
		Named("routes").
		Complete(s)
	if err != nil {
		return err
	}
	if s.SetSync != nil {
		if err := s.SetSync.SetupWithManager(mgr); err != nil {
			return err
		}
		inf, err := mgr.GetCache().GetInformer(context.Background(), &pagesv1alpha1.StaticPage{})
		if err != nil {
			return fmt.Errorf("watching StaticPages: %w", err)
		}
		if _, err := inf.AddEventHandler(childEvents{sets: s.SetSync.Sets, fallback: s.Fallback}); err != nil {
			return fmt.Errorf("watching StaticPages: %w", err)
		}
	}
	return mgr.Add(kube.EveryReplica(func(ctx context.Context) error {
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("caches did not sync")
		}
		if s.SetSync != nil {
			if err := s.SetSync.loadAll(ctx); err != nil {
				return err
			}
		}
		if err := s.loadAll(ctx); err != nil {
			return err
		}
		s.ready.Store(true)
		log.FromContext(ctx).Info("route table loaded", "pages", s.Table.Len())
		return nil
	}))
}

// Ready is a readiness check: it fails until every page known at start-up
// is in the table, so a new replica never answers 404 for a known page.
func (s *RouteSync) Ready(_ *httpRequest) error {
	if !s.ready.Load() {
		return errors.New("route table not loaded yet")
	}
	return nil
}

// loadAll puts every StaticPage in the table: cold with a --cache-size,
// to be loaded on request, or loaded now without one. Content not stored
// at a page's digest yet comes later, through the page's or its
// ConfigMap's event (a ConfigMap is read uncached, so it is never behind
// the status that names it), or, from an object store, once it is
// published again.
func (s *RouteSync) loadAll(ctx context.Context) error {
	pages := &pagesv1alpha1.StaticPageList{}
	if err := s.Client.List(ctx, pages); err != nil {
		return fmt.Errorf("listing StaticPages: %w", err)
	}
	for i := range pages.Items {
		if err := s.sync(ctx, &pages.Items[i]); err != nil {
			log.FromContext(ctx).Error(err, "loading page", "page", client.ObjectKeyFromObject(&pages.Items[i]))
		}
	}
	return nil
}

// Reconcile brings one page's entry up to date.
func (s *RouteSync) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if s.Fallback != nil {
		// Requests waiting for the page look again at it once its entry
		// is up to date.
		defer s.Fallback.notify(req.NamespacedName)
	}
	page := &pagesv1alpha1.StaticPage{}
	if err := s.Client.Get(ctx, req.NamespacedName, page); err != nil {
		if client.IgnoreNotFound(err) == nil {
			s.remove(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, s.sync(ctx, page)
}

// sync serves what page's status names: nothing without a digest (not
// rendered, or withdrawn), the stored content otherwise. Until storage holds
// the new digest the previous content stays served.
func (s *RouteSync) sync(ctx context.Context, page *pagesv1alpha1.StaticPage) error {
	name := types.NamespacedName{Namespace: page.Namespace, Name: page.Name}
	if !page.DeletionTimestamp.IsZero() || page.Status.Digest == "" {
		s.remove(name)
		return nil
	}
	if set := page.OwnerSet(); set != "" && !pagesv1alpha1.IsChildName(set, page.Spec.Route, page.Name) {
		// A set's page under a name that is not the one the set gives
		// its route: never the set's page for that route (the manager
		// renders no such page, and deletes it if a request created it).
		s.remove(name)
		return nil
	}
	if ok, _, err := s.Grants.Check(ctx, page.Namespace, page.Spec.Host); !ok || err != nil {
		// Not granted (or not known to be): served by no replica, so it
		// takes no route from a page of a namespace that is.
		s.remove(name)
		return err
	}
	if _, ok := page.ClaimSince(); !ok {
		// Its host or route changed, and the manager has not recorded the
		// new claim yet: served once it has, in its place among the
		// claimants, never ahead of them on the strength of an old claim.
		s.remove(name)
		return nil
	}
	cur := s.Table.Get(name)
	if cur != nil && cur.digest.Is(page.Status.Digest) {
		s.put(cur.withPage(page, s.Policy))
		return nil
	}
	if s.cache != nil && (cur == nil || cur.cold) && (s.cache.full() || !s.ready.Load()) {
		// No room, or still starting (a replica is ready sooner when it
		// knows every page and loads each on its first request, the way it
		// would past --cache-size anyway): served, and loaded, on request.
		s.put((&Entry{digest: digest.NewCompact(page.Status.Digest), cold: true}).withPage(page, s.Policy))
		return nil
	}
	obj, err := s.Store.Get(ctx, page, page.Status.Digest)
	storage.CountError(storage.OpGet, err)
	switch {
	case errors.Is(err, storage.ErrNotStored):
		// A ConfigMap's own (metadata) event brings the page back here.
		// Content gone from an object store comes back only if published
		// again. Content that does not match its digest is never served:
		// what is held stays.
		if errors.Is(err, storage.ErrCorrupt) {
			log.FromContext(ctx).Error(err, "not serving stored content that does not match its page's digest", "page", name)
		}
		if cur != nil {
			s.put(cur.withPage(page, s.Policy))
		}
		s.askPublish(ctx, page)
		return nil
	case errors.Is(err, storage.ErrUnavailable):
		// Keep serving what is held; a page not held answers 503 until the
		// store is back (the error retries this with backoff).
		if cur != nil {
			s.put(cur.withPage(page, s.Policy))
		} else {
			s.put(unavailable(page, s.Policy))
		}
		return err
	case err != nil:
		return err
	}
	e, err := NewEntry(page, obj, s.Policy)
	if err != nil {
		return err
	}
	s.put(e)
	return nil
}

// put serves e, within the body budget when there is one.
func (s *RouteSync) put(e *Entry) {
	if s.cache == nil {
		s.Table.Put(e)
	} else {
		s.cache.mu.Lock()
		if e.cold || e.Unavailable {
			s.cache.drop(e.Page)
		} else {
			s.cache.set(e.Page, e.size())
		}
		s.Table.Put(e)
		s.cache.evict(s.Table, e.Page)
		cacheBytes.Set(float64(s.cache.used))
		s.cache.mu.Unlock()
	}
	pagesGauge.Set(float64(s.Table.Len()))
}

func (s *RouteSync) remove(name types.NamespacedName) {
	if s.cache != nil {
		s.cache.mu.Lock()
		s.cache.drop(name)
		s.Table.Delete(name)
		cacheBytes.Set(float64(s.cache.used))
		s.cache.mu.Unlock()
	} else {
		s.Table.Delete(name)
	}
	pagesGauge.Set(float64(s.Table.Len()))
}

// loadTimeout bounds one load of a cold page from the store.
const loadTimeout = 15 * time.Second

// Load returns e with its bodies, loading them from the store: one load per
// page and digest however many requests wait for it. A requester that hangs
// up stops waiting, not the load.
func (s *RouteSync) Load(ctx context.Context, e *Entry) (*Entry, error) {
	ch := s.flights.DoChan(e.Page.String()+"@"+e.Digest(), func() (any, error) { return s.loadBodies(e) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Entry), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// loadBodies loads e's page from the store, within loadTimeout of its own,
// and serves it.
func (s *RouteSync) loadBodies(e *Entry) (*Entry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	coldLoadsTotal.Inc()
	s.loads.Add(1)
	page := &pagesv1alpha1.StaticPage{}
	if err := s.Client.Get(ctx, e.Page, page); err != nil {
		return nil, fmt.Errorf("reading StaticPage %s: %w", e.Page, err)
	}
	obj, err := s.Store.Get(ctx, page, page.Status.Digest)
	storage.CountError(storage.OpGet, err)
	if errors.Is(err, storage.ErrCorrupt) {
		log.FromContext(ctx).Error(err, "not serving stored content that does not match its page's digest", "page", e.Page)
	}
	if errors.Is(err, storage.ErrNotStored) {
		s.askPublish(ctx, page)
	}
	if err != nil {
		return nil, err
	}
	full, err := NewEntry(page, obj, s.Policy)
	if err != nil {
		return nil, err
	}
	s.put(full)
	return full, nil
}

// askPublish asks for a page whose content is gone from the object store
// to be published again, once per digest: no event would bring it back.
func (s *RouteSync) askPublish(ctx context.Context, page *pagesv1alpha1.StaticPage) {
	if !s.ObjectStore || s.Revalidator == nil {
		return
	}
	hex := digest.Hex(page.Status.Digest)
	token := "missing-" + hex[:min(16, len(hex))]
	if page.Annotations[pagesv1alpha1.RevalidateAnnotation] == token {
		return
	}
	name := types.NamespacedName{Namespace: page.Namespace, Name: page.Name}
	if err := s.Revalidator.Revalidate(ctx, name, token); err != nil {
		log.FromContext(ctx).Error(err, "asking for a page missing from the store to be published again", "page", name)
	}
}

// HeldBytes is what the bodies held take now, for checks against
// --cache-size; 0 when every page is held unbounded.
func (s *RouteSync) HeldBytes() int64 {
	if s.cache == nil {
		return 0
	}
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.cache.used
}

// Loads is how many times bodies were loaded on a request.
func (s *RouteSync) Loads() int64 { return s.loads.Load() }
