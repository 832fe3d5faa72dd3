// Package server serves rendered pages from memory with HTTP
// stale-while-revalidate semantics, and keeps its route table in step with
// the StaticPages and their stored content.
package server

import (
	"context"
	"fmt"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/storage"
)

// Server is the assembled page server.
type Server struct {
	// Table is what is served.
	Table *Table
	// Handler serves the pages.
	Handler *Handler
	// Sync keeps the table in step with the StaticPages.
	Sync *RouteSync
	// Shutdown runs the phased stop of every listener of this process.
	Shutdown *Shutdown
	// Revalidator annotates stale OnRequest pages; nil when disabled.
	Revalidator *AnnotationRevalidator
	// Sets routes requests for paths with no page to their StaticPageSet.
	Sets *Sets
	// Fallback creates and waits for the pages of those paths.
	Fallback *Fallback
}

// Setup assembles the page server from o and registers it with mgr: the
// route table sync, the StaticPageSets' fallback, the page listener (unless o.ListenAddress is empty) and
// the readiness checks "routes" (every page known at start is loaded) and
// "shutdown" (fails from SIGTERM on).
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) (*Server, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.FallbackTimeout == 0 {
		o.FallbackTimeout = DefaultFallbackTimeout
	}
	if o.Cache.CDN == nil {
		cdn, err := o.CDN()
		if err != nil {
			return nil, err
		}
		o.Cache.CDN = cdn
	}
	log := ctrl.Log.WithName("server")
	grants := kube.NewHostGrants(o.HostGrants, mgr.GetClient())
	s := &Server{Table: NewTable(), Shutdown: &Shutdown{Delay: o.ShutdownDelay, Grace: o.ShutdownGracePeriod, Log: log, Limits: o.Conn}}
	cacheSize, _ := o.CacheBytes()
	s.Sync = &RouteSync{
		Client: mgr.GetClient(),
		// Page bodies are read uncached, when a page is loaded: the cache
		// watches page ConfigMaps' metadata only.
		Store: &storage.ConfigMaps{
			Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Scheme: mgr.GetScheme(),
			MaxBodyBytes: o.Cache.MaxBodyBytes,
		},
		Table:     s.Table,
		Policy:    o.Cache,
		Grants:    grants,
		CacheSize: cacheSize,
	}
	if o.Storage == storage.BackendS3 {
		o.S3.MaxBodyBytes = o.Cache.MaxBodyBytes
		store, err := storage.NewS3(ctx, o.S3)
		if err != nil {
			return nil, fmt.Errorf("--storage=s3: %w", err)
		}
		s.Sync.Store, s.Sync.ObjectStore = store, true
	}
	// Revalidation requests outlive the request that triggered them, and
	// the stop signal: they end on their own timeout or the drain's end.
	s.Handler = &Handler{Table: s.Table, Clock: o.Clock, Log: log, BaseContext: context.WithoutCancel(ctx)}
	if !o.DisableOnRequestRevalidation {
		s.Revalidator = &AnnotationRevalidator{Client: mgr.GetClient()}
		s.Handler.Revalidator = s.Revalidator
		s.Sync.Revalidator = s.Revalidator
	}
	// Requests for a StaticPageSet's path with no page: the waits are no
	// single request's, and end on their own timeout.
	s.Sets = NewSets()
	collisions := &CollisionReports{Recorder: mgr.GetEventRecorder("isr-operator-server"), Interval: CollisionReportInterval}
	if err := mgr.Add(kube.EveryReplica(collisions.Start)); err != nil {
		return nil, err
	}
	s.Fallback = &Fallback{
		Client: mgr.GetClient(), Sets: s.Sets, Table: s.Table, Timeout: o.FallbackTimeout,
		Clock: o.Clock, Log: log.WithName("fallback"), BaseContext: context.WithoutCancel(ctx),
		Collisions: collisions,
		Slots:      o.CreationSlots, ShareByClient: o.Conn.MaxConnectionsPerClient > 0,
	}
	s.Handler.Fallback = s.Fallback
	s.Sync.SetSync = &SetSync{Client: mgr.GetClient(), Sets: s.Sets, Grants: grants}
	s.Sync.Fallback = s.Fallback
	if err := s.Sync.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("setting up the route table: %w", err)
	}
	if grants.Enabled() {
		if err := (&GrantSync{Client: mgr.GetClient(), Routes: s.Sync}).SetupWithManager(mgr); err != nil {
			return nil, fmt.Errorf("watching host grants: %w", err)
		}
	}
	if s.Sync.CacheSize > 0 {
		s.Handler.Load = s.Sync.Load
	}
	if o.ListenAddress != "" {
		if err := mgr.Add(s.Shutdown.PageListener(o.ListenAddress, s.Handler, s.Revalidator.Wait)); err != nil {
			return nil, err
		}
	}
	if err := mgr.AddReadyzCheck("routes", s.Sync.Ready); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("shutdown", s.Shutdown.Ready); err != nil {
		return nil, err
	}
	return s, nil
}
