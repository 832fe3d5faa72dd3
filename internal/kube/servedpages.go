package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// ServedPages reads StaticPages from a server's cache, which stores them as
// ServedPages (ServerCacheOptions): controller-runtime's cache reader
// returns only the stored type, so the client of a manager built with
// NewClient reads StaticPages here instead, each a new StaticPage made
// from its ServedPage, and everything else from the cache as usual. It
// finds the StaticPage informers, one per watched namespace or one for
// all, as the cache creates them.
type ServedPages struct {
	mu        sync.Mutex
	informers []toolscache.SharedIndexInformer
	// cache creates and syncs the informers; set by NewClient.
	cache cache.Informers
}

// NewServedPages is a ServedPages for one manager: give it to
// ServerCacheOptions and to the manager's NewClient.
func NewServedPages() *ServedPages { return &ServedPages{} }

// newInformer is the cache's informer constructor, noting the StaticPage
// informers.
func (s *ServedPages) newInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	inf := toolscache.NewSharedIndexInformer(lw, obj, resync, indexers)
	if _, ok := obj.(*pagesv1alpha1.StaticPage); ok {
		s.mu.Lock()
		s.informers = append(s.informers, inf)
		s.mu.Unlock()
	}
	return inf
}

// NewClient is a manager's NewClient: controller-runtime's client, whose
// StaticPage reads come from s.
func (s *ServedPages) NewClient(config *rest.Config, o client.Options) (client.Client, error) {
	c, err := client.New(config, o)
	if err != nil {
		return nil, err
	}
	if o.Cache == nil {
		return nil, errors.New("reading StaticPages as ServedPages needs the manager's cache")
	}
	informers, ok := o.Cache.Reader.(cache.Informers)
	if !ok {
		return nil, fmt.Errorf("reading StaticPages as ServedPages needs a cache with informers, not %T", o.Cache.Reader)
	}
	s.cache = informers
	return &servedPagesClient{Client: c, pages: s}, nil
}

// synced returns the StaticPage informers once the cache has them synced.
func (s *ServedPages) synced(ctx context.Context) ([]toolscache.SharedIndexInformer, error) {
	if s.cache == nil {
		return nil, errors.New("ServedPages is not a manager's client")
	}
	// Creates the informers on first use; waits for their sync once the
	// cache runs, as the cache's own reads do.
	if _, err := s.cache.GetInformer(ctx, &pagesv1alpha1.StaticPage{}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	informers := append([]toolscache.SharedIndexInformer(nil), s.informers...)
	s.mu.Unlock()
	for _, inf := range informers {
		if !inf.HasSynced() {
			return nil, &cache.ErrCacheNotStarted{}
		}
	}
	return informers, nil
}

// Get reads the StaticPage key into out.
func (s *ServedPages) Get(ctx context.Context, key client.ObjectKey, out *pagesv1alpha1.StaticPage) error {
	informers, err := s.synced(ctx)
	if err != nil {
		return err
	}
	for _, inf := range informers {
		obj, ok, err := inf.GetIndexer().GetByKey(key.String())
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		p, ok := obj.(*ServedPage)
		if !ok {
			return fmt.Errorf("the StaticPage cache holds a %T", obj)
		}
		p.into(out)
		return nil
	}
	return apierrors.NewNotFound(pagesv1alpha1.GroupVersion.WithResource("staticpages").GroupResource(), key.Name)
}

// List reads the StaticPages opts select into out: a namespace, a label
// selector and a limit, as the cache's own reader takes.
func (s *ServedPages) List(ctx context.Context, out *pagesv1alpha1.StaticPageList, opts ...client.ListOption) error {
	var o client.ListOptions
	o.ApplyOptions(opts)
	if o.FieldSelector != nil && !o.FieldSelector.Empty() {
		return fmt.Errorf("listing StaticPages from the cache by field selector %q: not supported", o.FieldSelector)
	}
	informers, err := s.synced(ctx)
	if err != nil {
		return err
	}
	out.Items = nil
	for _, inf := range informers {
		var objs []any
		if o.Namespace != "" {
			objs, err = inf.GetIndexer().ByIndex(toolscache.NamespaceIndex, o.Namespace)
		} else {
			objs = inf.GetIndexer().List()
		}
		if err != nil {
			return err
		}
		for _, obj := range objs {
			p, ok := obj.(*ServedPage)
			if !ok {
				return fmt.Errorf("the StaticPage cache holds a %T", obj)
			}
			if o.LabelSelector != nil && !o.LabelSelector.Matches(labels.Set(p.labels)) {
				continue
			}
			if o.Limit > 0 && int64(len(out.Items)) >= o.Limit {
				return nil
			}
			out.Items = append(out.Items, pagesv1alpha1.StaticPage{})
			p.into(&out.Items[len(out.Items)-1])
		}
	}
	return nil
}

// servedPagesClient is a client reading StaticPages from ServedPages.
type servedPagesClient struct {
	client.Client
	pages *ServedPages
}

// Get implements client.Reader.
func (c *servedPagesClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if p, ok := obj.(*pagesv1alpha1.StaticPage); ok {
		return c.pages.Get(ctx, key, p)
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// List implements client.Reader.
func (c *servedPagesClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if l, ok := list.(*pagesv1alpha1.StaticPageList); ok {
		return c.pages.List(ctx, l, opts...)
	}
	return c.Client.List(ctx, list, opts...)
}
