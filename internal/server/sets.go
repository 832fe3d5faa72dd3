package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/route"
)

// setEntry is what a server knows of one StaticPageSet.
type setEntry struct {
	// set is the cached object; nothing may change it.
	set *pagesv1alpha1.StaticPageSet
	// pattern is its parsed route pattern, constrained by spec.parameters;
	// nil when either is invalid.
	pattern *route.Pattern
	// serving is true when its Ready condition is True with reason
	// Serving for its current generation: only then may it cause pages.
	serving bool
	// limiter bounds the pages this replica creates for the set's
	// visitors (spec.maxCreationRate per second, as a burst too): the
	// whole budget without a SlotStore, else a first gate that costs no
	// store call.
	limiter *rate.Limiter
	// budget is this replica's part in the set's budget across replicas.
	budget *creationBudget
}

// Sets holds the StaticPageSets a server routes unbuilt paths to, and how
// many pages each has. It is safe for concurrent use.
type Sets struct {
	// idx holds the serving sets by host and pattern.
	idx *route.PatternIndex[*setEntry]

	mu sync.RWMutex
	// all holds every set, serving or not.
	all map[types.NamespacedName]*setEntry
	// childOf maps each set child page to its set; children counts them.
	childOf  map[types.NamespacedName]types.NamespacedName
	children map[types.NamespacedName]int32
}

// NewSets returns an empty Sets.
func NewSets() *Sets {
	return &Sets{
		idx:      route.NewPatternIndex[*setEntry](),
		all:      map[types.NamespacedName]*setEntry{},
		childOf:  map[types.NamespacedName]types.NamespacedName{},
		children: map[types.NamespacedName]int32{},
	}
}

// serving reports whether set may cause pages: its Ready condition is True
// with reason Serving, and describes the set's current spec (a changed
// pattern is not used until the set's controller has checked it).
func serving(set *pagesv1alpha1.StaticPageSet) bool {
	c := meta.FindStatusCondition(set.Status.Conditions, pagesv1alpha1.ReadyCondition)
	if c == nil || c.Status != "True" || c.Reason != pagesv1alpha1.ReasonServing {
		return false
	}
	observed := c.ObservedGeneration
	if observed == 0 {
		observed = set.Status.ObservedGeneration
	}
	return observed == 0 || observed == set.Generation
}

// Put records set, and routes its pattern if it is serving and granted
// (its host is granted to its namespace).
func (s *Sets) Put(set *pagesv1alpha1.StaticPageSet, granted bool) error {
	name := types.NamespacedName{Namespace: set.Namespace, Name: set.Name}
	pattern, err := route.ParseConstrained(set.Spec.Route, set.ParameterPatterns())
	r := rate.Limit(set.CreationRate())
	burst := int(set.CreationRate())
	s.mu.Lock()
	since, claimed := set.ClaimSince()
	e := &setEntry{set: set, pattern: pattern, serving: err == nil && granted && claimed && serving(set)}
	if old := s.all[name]; old != nil && old.set.UID == set.UID {
		e.limiter, e.budget = old.limiter, old.budget
		if e.limiter.Limit() != r || e.limiter.Burst() != burst {
			e.limiter.SetLimit(r)
			e.limiter.SetBurst(burst)
		}
	} else {
		e.limiter, e.budget = rate.NewLimiter(r, burst), &creationBudget{}
	}
	s.all[name] = e
	s.mu.Unlock()
	if e.serving {
		s.idx.Put(route.PatternClaim{Set: name, Host: set.Spec.Host, Pattern: pattern, Created: since}, e)
	} else {
		s.idx.Delete(name)
	}
	if err != nil {
		return fmt.Errorf("StaticPageSet %s: %w", name, err)
	}
	return nil
}

// Delete forgets a set.
func (s *Sets) Delete(name types.NamespacedName) {
	s.idx.Delete(name)
	s.mu.Lock()
	delete(s.all, name)
	s.mu.Unlock()
}

// Match returns the serving set whose pattern a request for host and
// escapedPath falls to, with the route (decoded) its pattern gives the
// path.
func (s *Sets) Match(host, escapedPath string) (*setEntry, string, bool) {
	e, params, ok := s.idx.Match(host, escapedPath)
	if !ok {
		return nil, "", false
	}
	path, err := e.pattern.Path(params)
	if err != nil {
		return nil, "", false
	}
	return e, path, true
}

// ExpireAfter is the spec.expireAfter of a set, 0 when it has none or is
// unknown.
func (s *Sets) ExpireAfter(set types.NamespacedName) time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.all[set]; e != nil && e.set.Spec.ExpireAfter != nil {
		return e.set.Spec.ExpireAfter.Duration
	}
	return 0
}

// Children is how many pages name set in spec.set.
func (s *Sets) Children(set types.NamespacedName) int32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.children[set]
}

// trackChild counts page as its set's, once; a page without a set counts
// for none.
func (s *Sets) trackChild(page *pagesv1alpha1.StaticPage) {
	name := types.NamespacedName{Namespace: page.Namespace, Name: page.Name}
	set := page.OwnerSet()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.childOf[name]; ok {
		if set != "" && old.Name == set {
			return
		}
		s.dropChildLocked(name, old)
	}
	if set == "" {
		return
	}
	key := types.NamespacedName{Namespace: page.Namespace, Name: set}
	s.childOf[name] = key
	s.children[key]++
}

// untrackChild stops counting a deleted page.
func (s *Sets) untrackChild(name types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.childOf[name]; ok {
		s.dropChildLocked(name, old)
	}
}

func (s *Sets) dropChildLocked(name, set types.NamespacedName) {
	delete(s.childOf, name)
	if s.children[set]--; s.children[set] <= 0 {
		delete(s.children, set)
	}
}

// SetSync keeps a Sets in step with the StaticPageSets of the manager's
// cache.
type SetSync struct {
	// Client reads StaticPageSets (a cached client).
	Client client.Client
	// Sets is what the handler routes unbuilt paths with.
	Sets *Sets
	// Grants says which hosts each namespace may serve: a set whose host is
	// not granted to its namespace routes nothing. Nil routes every set
	// (--host-grants=off).
	Grants *kube.HostGrants
}

// SetupWithManager watches StaticPageSets.
func (s *SetSync) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&pagesv1alpha1.StaticPageSet{}).
		WithOptions(controllerOptions()).
		Named("routesets").
		Complete(s)
}

// Reconcile brings one set's entry up to date.
func (s *SetSync) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	set := &pagesv1alpha1.StaticPageSet{}
	if err := s.Client.Get(ctx, req.NamespacedName, set); err != nil {
		if client.IgnoreNotFound(err) == nil {
			s.Sets.Delete(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	s.put(ctx, set)
	return ctrl.Result{}, nil
}

// put records set; a pattern that does not parse is logged, and routes
// nothing (its set's controller says why in its status).
func (s *SetSync) put(ctx context.Context, set *pagesv1alpha1.StaticPageSet) {
	if !set.DeletionTimestamp.IsZero() {
		s.Sets.Delete(types.NamespacedName{Namespace: set.Namespace, Name: set.Name})
		return
	}
	granted, _, err := s.Grants.Check(ctx, set.Namespace, set.Spec.Host)
	if err != nil {
		log.FromContext(ctx).Error(err, "StaticPageSet routes nothing until its host grants are known", "set", set.Name, "namespace", set.Namespace)
	}
	if err := s.Sets.Put(set, granted); err != nil {
		log.FromContext(ctx).V(1).Info("StaticPageSet routes nothing", "set", set.Name, "namespace", set.Namespace, "error", err.Error())
	}
}

// loadAll records every StaticPageSet, before the server reports ready.
func (s *SetSync) loadAll(ctx context.Context) error {
	sets := &pagesv1alpha1.StaticPageSetList{}
	if err := s.Client.List(ctx, sets); err != nil {
		return fmt.Errorf("listing StaticPageSets: %w", err)
	}
	for i := range sets.Items {
		s.put(ctx, &sets.Items[i])
	}
	return nil
}

// childEvents counts set children and tells fallback of every change of a
// StaticPage, as the informer sees it: each status a child passes through
// reaches the waiting requests, even one the route sync's queue folds into
// a later state (a failed render the manager deletes at once).
type childEvents struct {
	sets     *Sets
	fallback *Fallback
}

var _ toolscache.ResourceEventHandler = childEvents{}

// OnAdd implements toolscache.ResourceEventHandler.
func (c childEvents) OnAdd(obj any, _ bool) { c.changed(obj) }

// OnUpdate implements toolscache.ResourceEventHandler.
func (c childEvents) OnUpdate(_, obj any) { c.changed(obj) }

// OnDelete implements toolscache.ResourceEventHandler.
func (c childEvents) OnDelete(obj any) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	page, ok := obj.(*pagesv1alpha1.StaticPage)
	if !ok {
		return
	}
	name := types.NamespacedName{Namespace: page.Namespace, Name: page.Name}
	c.sets.untrackChild(name)
	if c.fallback != nil {
		c.fallback.observe(name, nil)
	}
}

func (c childEvents) changed(obj any) {
	page, ok := obj.(*pagesv1alpha1.StaticPage)
	if !ok {
		return
	}
	c.sets.trackChild(page)
	if c.fallback != nil && page.OwnerSet() != "" {
		c.fallback.observe(types.NamespacedName{Namespace: page.Namespace, Name: page.Name}, page)
	}
}
