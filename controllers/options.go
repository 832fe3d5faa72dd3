package controllers

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/cli"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/purge"
	"github.com/isr-operator/isr-operator/internal/render"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/tags"
)

// Options configure the StaticPage and StaticPageSet controllers.
// cmd/manager binds them to flags and the test suites fill them in code;
// Setup is the one place that assembles the controllers from them.
type Options struct {
	// MaxBodyBytes is the largest origin body accepted (--max-body-size).
	MaxBodyBytes int64
	// DefaultOriginTimeout bounds a fetch for pages that set no
	// spec.origin.timeout (--default-origin-timeout).
	DefaultOriginTimeout time.Duration
	// MaxOriginTimeout caps every origin and sitemap fetch, whatever a
	// page's or set's spec.origin.timeout says; 0 means no cap
	// (--max-origin-timeout).
	MaxOriginTimeout time.Duration
	// MaxConcurrentRenders is how many pages render at once
	// (--max-concurrent-renders).
	MaxConcurrentRenders int
	// MaxConcurrentRendersPerHost caps renders in flight per origin host,
	// counted by its name and by each address it resolves to, whatever the
	// port; 0 means no cap (--max-concurrent-renders-per-host).
	MaxConcurrentRendersPerHost int
	// MaxConcurrentRendersPerNamespace caps the renders in flight of one
	// namespace's pages; 0 means half of MaxConcurrentRenders, at least 1
	// (--max-concurrent-renders-per-namespace).
	MaxConcurrentRendersPerNamespace int
	// RetryBaseDelay is the first retry delay after a failed render
	// (--retry-base-delay); it doubles per failure.
	RetryBaseDelay time.Duration
	// RetryMaxDelay caps the retry delay (--retry-max-delay).
	RetryMaxDelay time.Duration
	// AllowOrigins are hosts, IPs or CIDRs, each with an optional port
	// that narrows it to that port, allowed as origins although they
	// resolve to addresses the origin guard refuses (--allow-origin).
	AllowOrigins cli.StringList
	// DenyOriginCIDRs are the site's own ranges the origin guard refuses
	// besides its fixed ones; only a narrower AllowOrigins entry reopens
	// part of one (--deny-origin-cidrs).
	DenyOriginCIDRs cli.StringList
	// AllowedContentTypes are the media types an origin may answer with;
	// empty means render.DefaultContentTypes (--allowed-content-types).
	AllowedContentTypes cli.StringList
	// OriginTagHeaders name the origin response headers a page's origin
	// tags are read from; empty means tags.DefaultOriginHeaders, and the one
	// value "none" reads none (--origin-tag-header).
	OriginTagHeaders cli.StringList
	// MaxRedirects is how many redirects a fetch follows (--max-redirects).
	MaxRedirects int
	// Storage is where pages are kept: "configmap" or "s3" (--storage).
	Storage string
	// S3 is the object store, with Storage "s3" (--s3-* flags).
	S3 storage.S3Options
	// SweepInterval is how often objects no StaticPage points to are
	// looked for in the object store (--s3-sweep-interval).
	SweepInterval time.Duration
	// SweepGrace is how old such an object must be to be removed, so that
	// a server still loading superseded content finds it (--s3-sweep-grace).
	SweepGrace time.Duration
	// FinalizeTimeout is how long a deleted page waits for its objects to
	// be removed from a failing store before it is released and the sweep
	// is left to remove them (--s3-finalize-timeout).
	FinalizeTimeout time.Duration
	// PurgeWindow is how long changes are collected into one purge of
	// each CDN (--cdn-purge-window).
	PurgeWindow time.Duration
	// PurgeServers are the base URLs of the server replicas' page ports;
	// a purge waits until each serves the new content (--cdn-purge-servers).
	PurgeServers cli.StringList
	// PurgeServedTimeout bounds that wait (--cdn-purge-served-timeout).
	PurgeServedTimeout time.Duration
	// PurgeTimeout bounds one purge request (--cdn-purge-timeout).
	PurgeTimeout time.Duration
	// HostGrants is kube.HostGrantsRequired to render pages and sets only
	// for hosts granted to their namespace, or kube.HostGrantsOff
	// (--host-grants).
	HostGrants string
	// Clock is the time source; nil means the real clock. Tests inject one.
	Clock clock.PassiveClock
}

// DefaultOptions are the flags' defaults.
func DefaultOptions() Options {
	return Options{
		MaxBodyBytes:                8 << 20,
		DefaultOriginTimeout:        10 * time.Second,
		MaxOriginTimeout:            time.Minute,
		MaxConcurrentRenders:        4,
		MaxConcurrentRendersPerHost: 2,
		RetryBaseDelay:              time.Second,
		RetryMaxDelay:               5 * time.Minute,
		MaxRedirects:                5,
		Storage:                     storage.BackendConfigMap,
		S3:                          storage.DefaultS3Options(),
		SweepInterval:               10 * time.Minute,
		SweepGrace:                  10 * time.Minute,
		FinalizeTimeout:             time.Minute,
		PurgeWindow:                 200 * time.Millisecond,
		PurgeServedTimeout:          10 * time.Second,
		PurgeTimeout:                10 * time.Second,
		HostGrants:                  kube.HostGrantsRequired,
	}
}

// BindFlags registers the controller's flags on fs, with o's values as
// defaults.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.Int64Var(&o.MaxBodyBytes, "max-body-size", o.MaxBodyBytes, "Largest origin body accepted, in bytes; a larger one fails the render and keeps the last good page.")
	fs.DurationVar(&o.DefaultOriginTimeout, "default-origin-timeout", o.DefaultOriginTimeout, "Origin fetch timeout for pages that set no spec.origin.timeout.")
	fs.DurationVar(&o.MaxOriginTimeout, "max-origin-timeout", o.MaxOriginTimeout, "Longest origin or sitemap fetch, whatever a page's or set's spec.origin.timeout says, so that no namespace's slow origins hold the render workers for long; 0 means no cap.")
	fs.IntVar(&o.MaxConcurrentRenders, "max-concurrent-renders", o.MaxConcurrentRenders, "Pages rendered at the same time, over all origins.")
	fs.IntVar(&o.MaxConcurrentRendersPerHost, "max-concurrent-renders-per-host", o.MaxConcurrentRendersPerHost, "Pages rendered at the same time from one origin host, counted by its name and by each address it resolves to, whatever the port, so pages due together do not flood one backend; 0 means no cap.")
	fs.IntVar(&o.MaxConcurrentRendersPerNamespace, "max-concurrent-renders-per-namespace", o.MaxConcurrentRendersPerNamespace, "Pages of one namespace rendered at the same time, so that one namespace's slow origins cannot hold every render worker (namespaces take turns for the rest); 0 means half of --max-concurrent-renders, at least 1.")
	fs.DurationVar(&o.RetryBaseDelay, "retry-base-delay", o.RetryBaseDelay, "First retry delay after a failed render; it doubles on each failure.")
	fs.DurationVar(&o.RetryMaxDelay, "retry-max-delay", o.RetryMaxDelay, "Longest retry delay after failed renders.")
	fs.Var(&o.AllowOrigins, "allow-origin", "Host name, IP or CIDR allowed as an origin although the origin guard refuses it (loopback, link-local, unspecified, multicast, cloud metadata, --deny-origin-cidrs); with a port (127.0.0.1:8088, [::1]:8088, shop.svc:8080) only that port is allowed. Repeatable and comma-separated.")
	fs.Var(&o.DenyOriginCIDRs, "deny-origin-cidrs", "CIDRs (or IPs) the origin guard refuses besides its fixed ones, such as the node, pod or control-plane ranges; an --allow-origin entry narrower than the range reopens part of it. Repeatable and comma-separated.")
	fs.IntVar(&o.MaxRedirects, "max-redirects", o.MaxRedirects, "Redirects an origin fetch follows, each checked like the origin; more fail the render.")
	fs.StringVar(&o.Storage, "storage", o.Storage, "Where pages are kept: configmap (a ConfigMap per page, nothing else needed) or s3 (an S3-compatible object store: --s3-* flags).")
	o.S3.BindFlags(fs)
	fs.DurationVar(&o.SweepInterval, "s3-sweep-interval", o.SweepInterval, "How often the object store is swept of objects no StaticPage points to.")
	fs.DurationVar(&o.SweepGrace, "s3-sweep-grace", o.SweepGrace, "How old an object no StaticPage points to must be before the sweep removes it, so that servers still loading superseded content find it.")
	fs.DurationVar(&o.FinalizeTimeout, "s3-finalize-timeout", o.FinalizeTimeout, "How long a deleted StaticPage waits for its objects to be removed from a failing store; then it is released and the sweep removes them later.")
	fs.Var(&o.OriginTagHeaders, "origin-tag-header", "Origin response header a page's tags are read from (space- or comma-separated tags, kept in status.tags); repeatable and comma-separated; none reads none; default: "+strings.Join(tags.DefaultOriginHeaders, ",")+".")
	fs.DurationVar(&o.PurgeWindow, "cdn-purge-window", o.PurgeWindow, "How long changed pages are collected into one purge of each CDN object.")
	fs.Var(&o.PurgeServers, "cdn-purge-servers", "Base URLs of the server replicas' page ports (comma-separated, repeatable); a purge waits until each serves the new content, so the CDN cannot fetch the old page again. Empty purges once the new content is published.")
	fs.DurationVar(&o.PurgeServedTimeout, "cdn-purge-served-timeout", o.PurgeServedTimeout, "Longest wait for --cdn-purge-servers to serve a change; the purge is sent then anyway.")
	fs.DurationVar(&o.PurgeTimeout, "cdn-purge-timeout", o.PurgeTimeout, "Timeout of one purge request to a CDN.")
	fs.StringVar(&o.HostGrants, "host-grants", o.HostGrants, kube.HostGrantsUsage)
	fs.Var(&o.AllowedContentTypes, "allowed-content-types", "Comma-separated media types an origin may answer with (type/* and * allowed); default: "+strings.Join(render.DefaultContentTypes, ",")+".")
}

// Validate says, in terms of the flags, what is wrong with o.
func (o Options) Validate() error {
	var errs []error
	if o.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("--max-body-size must be positive, got %d", o.MaxBodyBytes))
	}
	if o.DefaultOriginTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--default-origin-timeout must be positive, got %s", o.DefaultOriginTimeout))
	}
	if o.MaxOriginTimeout < 0 || o.MaxOriginTimeout > 0 && o.MaxOriginTimeout < o.DefaultOriginTimeout {
		errs = append(errs, fmt.Errorf("--max-origin-timeout must be 0 (no cap) or at least --default-origin-timeout, got %s and %s", o.MaxOriginTimeout, o.DefaultOriginTimeout))
	}
	if o.MaxConcurrentRenders <= 0 {
		errs = append(errs, fmt.Errorf("--max-concurrent-renders must be positive, got %d", o.MaxConcurrentRenders))
	}
	if o.MaxConcurrentRendersPerHost < 0 {
		errs = append(errs, fmt.Errorf("--max-concurrent-renders-per-host must not be negative, got %d", o.MaxConcurrentRendersPerHost))
	}
	if o.MaxConcurrentRendersPerNamespace < 0 {
		errs = append(errs, fmt.Errorf("--max-concurrent-renders-per-namespace must not be negative, got %d", o.MaxConcurrentRendersPerNamespace))
	}
	if o.RetryBaseDelay <= 0 || o.RetryMaxDelay < o.RetryBaseDelay {
		errs = append(errs, fmt.Errorf("--retry-base-delay must be positive and at most --retry-max-delay, got %s and %s", o.RetryBaseDelay, o.RetryMaxDelay))
	}
	if err := storage.ValidateBackend(o.Storage, o.S3); err != nil {
		errs = append(errs, err)
	}
	if o.Storage == storage.BackendS3 && (o.SweepInterval <= 0 || o.SweepGrace <= 0 || o.FinalizeTimeout <= 0) {
		errs = append(errs, errors.New("--s3-sweep-interval, --s3-sweep-grace and --s3-finalize-timeout must be positive"))
	}
	for _, h := range o.OriginTagHeaders {
		switch {
		case h == "none" && len(o.OriginTagHeaders) > 1:
			errs = append(errs, errors.New("--origin-tag-header=none reads no header; give it alone"))
		case !httpguts.ValidHeaderFieldName(h):
			errs = append(errs, fmt.Errorf("--origin-tag-header %q is not a header name", h))
		}
	}
	if o.PurgeWindow <= 0 || o.PurgeServedTimeout <= 0 || o.PurgeTimeout <= 0 {
		errs = append(errs, errors.New("--cdn-purge-window, --cdn-purge-served-timeout and --cdn-purge-timeout must be positive"))
	}
	if err := kube.ValidateHostGrants(o.HostGrants); err != nil {
		errs = append(errs, err)
	}
	if o.MaxRedirects < 0 {
		errs = append(errs, fmt.Errorf("--max-redirects must not be negative, got %d", o.MaxRedirects))
	}
	return errors.Join(errs...)
}

// Setup assembles the StaticPage controller from o (origin guard, fetcher,
// ConfigMap storage, per-host cap), the StaticPageSet controller (which
// fetches sitemaps through the same guard) and the WebhookReceiver
// controller, and registers them with mgr.
func Setup(mgr ctrl.Manager, o Options) (*StaticPageReconciler, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	guard, err := render.NewGuard(o.AllowOrigins, o.DenyOriginCIDRs)
	if err != nil {
		return nil, fmt.Errorf("--allow-origin or --deny-origin-cidrs: %w", err)
	}
	types, err := render.ParseContentTypes(o.AllowedContentTypes)
	if err != nil {
		return nil, fmt.Errorf("--allowed-content-types: %w", err)
	}
	var store storage.Store = &storage.ConfigMaps{Client: mgr.GetClient(), Scheme: mgr.GetScheme()}
	if o.Storage == storage.BackendS3 {
		s3, err := storage.NewS3(context.Background(), o.S3)
		if err != nil {
			return nil, fmt.Errorf("--storage=s3: %w", err)
		}
		store = s3
		if err := mgr.Add(&Sweeper{Client: mgr.GetClient(), Store: s3, Every: o.SweepInterval, Grace: o.SweepGrace}); err != nil {
			return nil, err
		}
	}
	grants := kube.NewHostGrants(o.HostGrants, mgr.GetClient())
	origins := render.NewClient(render.ClientOptions{Guard: guard, MaxRedirects: o.MaxRedirects})
	r := &StaticPageReconciler{
		Client: mgr.GetClient(),
		Fetcher: &render.Fetcher{
			Client:       origins,
			MaxBodyBytes: o.MaxBodyBytes,
			ContentTypes: types,
			TagHeaders:   o.tagHeaders(),
		},
		Store:           store,
		FinalizeTimeout: o.FinalizeTimeout,
		Recorder:        mgr.GetEventRecorder("isr-operator"),
		Clock:           o.Clock,
		DefaultTimeout:  o.DefaultOriginTimeout,
		MaxTimeout:      o.MaxOriginTimeout,
		Hosts:           &render.HostLimiter{Max: o.MaxConcurrentRendersPerHost},
		Namespaces:      &render.HostLimiter{Max: o.RendersPerNamespace()},
		Grants:          grants,
	}
	purgeHTTP := &http.Client{Timeout: o.PurgeTimeout}
	r.Purger = &Purger{
		Client:    mgr.GetClient(),
		Reader:    mgr.GetAPIReader(),
		Varnish:   &purge.Varnish{HTTP: purgeHTTP},
		Recorder:  mgr.GetEventRecorder("isr-operator"),
		Grants:    grants,
		Window:    o.PurgeWindow,
		Attempts:  5,
		RetryBase: 250 * time.Millisecond,
		RetryMax:  5 * time.Minute,
	}
	if len(o.PurgeServers) > 0 {
		r.Purger.Served = &ServedCheck{Servers: o.PurgeServers, HTTP: purgeHTTP, Timeout: o.PurgeServedTimeout, Poll: 50 * time.Millisecond}
	}
	if err := mgr.Add(r.Purger); err != nil {
		return nil, fmt.Errorf("setting up the CDN purger: %w", err)
	}
	// A render reads the namespace's CDNs (is its purge pending?): their
	// informer starts with the cache, so that no render waits for it.
	if _, err := mgr.GetCache().GetInformer(context.Background(), &pagesv1alpha1.CDN{}, cache.BlockUntilSynced(false)); err != nil {
		return nil, fmt.Errorf("watching CDNs: %w", err)
	}
	if err := r.SetupWithManager(mgr, o); err != nil {
		return nil, fmt.Errorf("setting up the StaticPage controller: %w", err)
	}
	// Sitemaps are fetched like pages (same guard, redirects and body cap)
	// but are XML whatever --allowed-content-types allows pages to be.
	sitemapTypes, err := render.ParseContentTypes(render.SitemapContentTypes)
	if err != nil {
		return nil, err
	}
	sets := &StaticPageSetReconciler{
		Client:         mgr.GetClient(),
		Sitemaps:       &render.Fetcher{Client: origins, MaxBodyBytes: o.MaxBodyBytes, ContentTypes: sitemapTypes},
		Recorder:       mgr.GetEventRecorder("isr-operator"),
		Clock:          o.Clock,
		DefaultTimeout: o.DefaultOriginTimeout,
		MaxTimeout:     o.MaxOriginTimeout,
		Grants:         grants,
	}
	if err := sets.SetupWithManager(mgr, o); err != nil {
		return nil, fmt.Errorf("setting up the StaticPageSet controller: %w", err)
	}
	if err := (&WebhookReceiverReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return nil, err
	}
	log := mgr.GetLogger().WithName("freshness")
	if err := registerFreshness(&FreshnessCollector{Reader: mgr.GetCache(), Clock: o.Clock, Log: func(err error) {
		log.Error(err, "listing StaticPages for the freshness metrics")
	}}); err != nil {
		return nil, fmt.Errorf("registering the freshness metrics: %w", err)
	}
	return r, nil
}

// RendersPerNamespace is the per-namespace render cap in effect:
// MaxConcurrentRendersPerNamespace, or half of MaxConcurrentRenders (at
// least 1) when it is 0.
func (o Options) RendersPerNamespace() int {
	if o.MaxConcurrentRendersPerNamespace > 0 {
		return o.MaxConcurrentRendersPerNamespace
	}
	return max(1, o.MaxConcurrentRenders/2)
}

// tagHeaders are the headers origin tags are read from.
func (o Options) tagHeaders() []string {
	switch {
	case len(o.OriginTagHeaders) == 0:
		return tags.DefaultOriginHeaders
	case len(o.OriginTagHeaders) == 1 && o.OriginTagHeaders[0] == "none":
		return nil
	}
	return o.OriginTagHeaders
}

// GCPercent is the manager's GC target when GOGC is not set (the server's
// is server.GCPercent). What the manager holds for long is cached objects,
// and what it allocates besides (a fetched body, its compressed copies) is
// short-lived, so Go's default of 100, which lets the heap reach twice the
// live data between collections, buys nothing.
const GCPercent = 50
