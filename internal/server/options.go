package server

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/clock"

	"github.com/isr-operator/isr-operator/internal/cli"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/tags"
)

// Options configure the page server. cmd/server binds them to flags and the
// test suites fill them in code; Setup is the one place that assembles the
// server from them.
type Options struct {
	// ListenAddress is where pages are served (--listen-address); empty
	// serves nothing, for tests that call the Handler directly.
	ListenAddress string
	// Cache sets the Cache-Control numbers and the largest page loaded.
	Cache CachePolicy
	// DisableOnRequestRevalidation makes a read-only replica that never
	// annotates stale OnRequest pages (--disable-on-request-revalidation).
	DisableOnRequestRevalidation bool
	// ShutdownDelay is how long the listeners keep serving after SIGTERM,
	// while /readyz already fails (--shutdown-delay).
	ShutdownDelay time.Duration
	// ShutdownGracePeriod bounds the drain of in-flight requests after the
	// delay (--shutdown-grace-period).
	ShutdownGracePeriod time.Duration
	// Conn bounds what clients may make the page port and the revalidate
	// API's port hold (--max-connections, --max-header-bytes, the
	// timeouts).
	Conn ConnLimits
	// Storage is where pages are read from: "configmap" or "s3"
	// (--storage), as the manager writes them.
	Storage string
	// S3 is the object store, with Storage "s3" (--s3-* flags); the server
	// only reads it.
	S3 storage.S3Options
	// CacheSize bounds the memory page bodies take, as a Kubernetes
	// quantity, with either Storage: pages start cold, are loaded from the
	// store on request, and the least recently served go cold again over
	// it; empty or 0 holds every page (--cache-size).
	CacheSize string
	// FallbackTimeout bounds how long a request for a StaticPageSet's path
	// with no page yet (fallback Blocking) waits for the page to be created
	// and rendered before it gets 504 (--fallback-timeout); 0 means
	// DefaultFallbackTimeout.
	FallbackTimeout time.Duration
	// CDNTagHeaders name the headers each page's tags are sent in, for
	// the CDN in front: xkey, Surrogate-Key, Cache-Tag, Edge-Cache-Tag,
	// CDN-Tag (--cdn-tag-headers).
	CDNTagHeaders cli.StringList
	// CDNCacheControl is a Cache-Control value for the CDN only, such as
	// max-age=3600; empty sends none (--cdn-cache-control).
	CDNCacheControl string
	// CDNCacheControlHeader is the header CDNCacheControl is sent in:
	// CDN-Cache-Control (RFC 9213, the default) or Surrogate-Control
	// (--cdn-cache-control-header).
	CDNCacheControlHeader string
	// HostGrants is kube.HostGrantsRequired to serve pages and sets only
	// for hosts granted to their namespace, or kube.HostGrantsOff
	// (--host-grants).
	HostGrants string
	// Clock is the time source; nil means the real clock.
	Clock clock.PassiveClock
	// CreationSlots makes each StaticPageSet's maxCreationRate one budget
	// across every replica that shares it, with a share per client address
	// unless Conn.MaxConnectionsPerClient is 0 (every client is a proxy);
	// nil leaves each replica a budget of its own. cmd/server sets
	// the revalidate API's Lease store, when the API is on.
	CreationSlots SlotStore
}

// DefaultFallbackTimeout is --fallback-timeout's default.
const DefaultFallbackTimeout = 10 * time.Second

// DefaultOptions are the flags' defaults.
func DefaultOptions() Options {
	return Options{
		ListenAddress: ":8000",
		Cache: CachePolicy{
			StaleWhileRevalidate: 24 * time.Hour,
			StaleIfError:         7 * 24 * time.Hour,
			OnDemandMaxAge:       time.Minute,
			MaxBodyBytes:         8 << 20,
		},
		ShutdownDelay:         5 * time.Second,
		ShutdownGracePeriod:   15 * time.Second,
		Conn:                  DefaultConnLimits(),
		FallbackTimeout:       DefaultFallbackTimeout,
		CDNCacheControlHeader: CDNCacheControl,
		Storage:               storage.BackendConfigMap,
		CacheSize:             "256Mi",
		S3:                    storage.DefaultS3Options(),
		HostGrants:            kube.HostGrantsRequired,
	}
}

// BindFlags registers the server's flags on fs, with o's values as defaults.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.ListenAddress, "listen-address", o.ListenAddress, "Address pages are served on.")
	fs.DurationVar(&o.Cache.StaleWhileRevalidate, "stale-while-revalidate", o.Cache.StaleWhileRevalidate, "Cache-Control stale-while-revalidate sent to downstream caches.")
	fs.DurationVar(&o.Cache.StaleIfError, "stale-if-error", o.Cache.StaleIfError, "Cache-Control stale-if-error sent to downstream caches.")
	fs.DurationVar(&o.Cache.OnDemandMaxAge, "on-demand-max-age", o.Cache.OnDemandMaxAge, "Cache-Control s-maxage of pages without spec.revalidate, which change only on demand.")
	fs.Int64Var(&o.Cache.MaxBodyBytes, "max-body-size", o.Cache.MaxBodyBytes, "Largest page loaded into memory, in bytes uncompressed.")
	fs.BoolVar(&o.DisableOnRequestRevalidation, "disable-on-request-revalidation", o.DisableOnRequestRevalidation, "Never annotate stale OnRequest pages (a read-only replica); they then refresh only on demand.")
	fs.DurationVar(&o.ShutdownDelay, "shutdown-delay", o.ShutdownDelay, "After SIGTERM, how long /readyz fails while new connections are still served (with Connection: close), so load balancers stop sending here before the listener closes.")
	o.Conn.BindFlags(fs)
	fs.StringVar(&o.Storage, "storage", o.Storage, "Where pages are read from, as the manager keeps them: configmap or s3 (--s3-* flags; the server only reads).")
	o.S3.BindFlags(fs)
	fs.StringVar(&o.CacheSize, "cache-size", o.CacheSize, "The memory page bodies may take (a quantity such as 256Mi), with either --storage: a page's body is loaded from its ConfigMap or object on its first request, and the least recently served pages beyond this are dropped and loaded again on request; the server is ready before it has loaded any. 0 holds every page, loaded before the server is ready. Unless GOMEMLIMIT is set, Go's soft memory limit is at most this plus 64 MiB; plan for this plus 96 MiB of resident memory.")
	fs.DurationVar(&o.ShutdownGracePeriod, "shutdown-grace-period", o.ShutdownGracePeriod, "After --shutdown-delay, how long in-flight requests may finish.")
	fs.Var(&o.CDNTagHeaders, "cdn-tag-headers", "Headers each page's tags (status.tags) are sent in, for the CDN in front, each in its CDN's syntax and size limits: comma-separated, of "+tags.HeaderNames+".")
	fs.StringVar(&o.CDNCacheControl, "cdn-cache-control", o.CDNCacheControl, "Cache-Control value for the CDN in front only, such as max-age=3600, so that it keeps pages long while browsers keep the page's own Cache-Control; purge the CDN on change (a CDN object). Empty sends none.")
	fs.StringVar(&o.CDNCacheControlHeader, "cdn-cache-control-header", o.CDNCacheControlHeader, "Header --cdn-cache-control is sent in: "+CDNCacheControl+" (RFC 9213) or "+SurrogateControl+".")
	fs.StringVar(&o.HostGrants, "host-grants", o.HostGrants, kube.HostGrantsUsage)
	fs.DurationVar(&o.FallbackTimeout, "fallback-timeout", o.FallbackTimeout, "How long a request for a StaticPageSet's path with no page yet (fallback Blocking) waits for the page to be rendered before it gets 504; the page still serves later requests. 0 means the default.")
}

// Validate says, in terms of the flags, what is wrong with o.
func (o Options) Validate() error {
	var errs []error
	if o.Cache.StaleWhileRevalidate < 0 || o.Cache.StaleIfError < 0 || o.Cache.OnDemandMaxAge < 0 {
		errs = append(errs, errors.New("--stale-while-revalidate, --stale-if-error and --on-demand-max-age must not be negative"))
	}
	if o.Cache.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("--max-body-size must be positive, got %d", o.Cache.MaxBodyBytes))
	}
	if err := o.Conn.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := storage.ValidateBackend(o.Storage, o.S3); err != nil {
		errs = append(errs, err)
	}
	if _, err := o.CacheBytes(); err != nil {
		errs = append(errs, err)
	}
	if o.ShutdownDelay < 0 || o.ShutdownGracePeriod < 0 {
		errs = append(errs, errors.New("--shutdown-delay and --shutdown-grace-period must not be negative"))
	}
	if _, err := o.CDN(); err != nil {
		errs = append(errs, err)
	}
	if err := kube.ValidateHostGrants(o.HostGrants); err != nil {
		errs = append(errs, err)
	}
	if o.FallbackTimeout < 0 {
		errs = append(errs, fmt.Errorf("--fallback-timeout must not be negative, got %s", o.FallbackTimeout))
	}
	return errors.Join(errs...)
}

// CDN builds the CDN headers from the --cdn-* flags; nil sends none.
func (o Options) CDN() (*CDNHeaders, error) {
	return NewCDNHeaders(o.CDNTagHeaders, o.CDNCacheControl, o.CDNCacheControlHeader)
}

// MemoryHeadroom is the Go memory a server needs beyond its page bodies:
// the StaticPage cache and page ConfigMaps' metadata, the route table,
// buffers, room for the collector. With a --cache-size, cmd/server caps
// Go's soft memory limit at --cache-size plus this (MemoryLimit), unless
// GOMEMLIMIT is set. The resident memory to plan for is --cache-size plus
// 96 MiB: the rest is the binary's mapped code, which Go's limit does not
// count.
const MemoryHeadroom = 64 << 20

// GCPercent is the server's GC target when GOGC is not set, lower than the
// manager's (controllers.GCPercent): most of what a server holds is page bodies,
// which hold no pointers and cost a collection little to mark, and a hit
// allocates nothing, so collecting when the heap has grown by a quarter
// costs serving little and keeps the heap close to the pages held.
const GCPercent = 25

// MemoryLimit is the soft memory limit o asks for: --cache-size plus
// MemoryHeadroom with a --cache-size, with either storage, else 0 (none:
// the pages held are not bounded).
func (o Options) MemoryLimit() int64 {
	size, _ := o.CacheBytes()
	if size <= 0 {
		return 0
	}
	return size + MemoryHeadroom
}

// CacheBytes parses CacheSize; empty means no bound.
func (o Options) CacheBytes() (int64, error) {
	if o.CacheSize == "" {
		return 0, nil
	}
	q, err := resource.ParseQuantity(o.CacheSize)
	if err != nil || q.Sign() < 0 {
		return 0, fmt.Errorf("--cache-size %q must be a quantity such as 256Mi", o.CacheSize)
	}
	return q.Value(), nil
}
