// Command server serves rendered pages from memory with
// stale-while-revalidate; it runs beside the manager or as its own
// Deployment, as many replicas as traffic needs.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/isr-operator/isr-operator/internal/gomem"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/revalidateapi"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/version"
)

// options is what the flags set.
type options struct {
	metricsAddr, probeAddr, pprofAddr, namespaces string
	server                                        server.Options
	api                                           revalidateapi.Options
}

func main() {
	o := options{server: server.DefaultOptions(), api: revalidateapi.DefaultOptions()}
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8090", "Address of the Prometheus /metrics endpoint; 0 disables it.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8091", "Address of /healthz and /readyz (ready once every page is loaded; not ready from SIGTERM on).")
	flag.StringVar(&o.namespaces, "namespaces", "", "Comma-separated namespaces to serve pages from; empty serves all namespaces.")
	o.server.BindFlags(flag.CommandLine)
	o.api.BindFlags(flag.CommandLine)
	kube.Main("server", &o.pprofAddr, func() error { return run(o) })
}

func run(o options) error {
	nss, err := kube.SplitNamespaces(o.namespaces)
	if err != nil {
		return err
	}
	o.api.Namespaces = nss
	if err := o.server.Validate(); err != nil {
		return err
	}
	if err := o.api.Validate(); err != nil {
		return err
	}
	pages := kube.NewServedPages()
	cacheOpts, err := o.api.CacheOptions(kube.ServerCacheOptions(nss, pages))
	if err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("finding the cluster: %w", err)
	}
	// The manager waits this long for the listeners' phased stop.
	stop := o.server.ShutdownDelay + o.server.ShutdownGracePeriod + 5*time.Second
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  kube.Scheme(),
		Cache:                   cacheOpts,
		NewClient:               pages.NewClient,
		Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		GracefulShutdownTimeout: &stop,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	gomem.SetMemoryLimit(ctrl.Log.WithName("setup"))
	ctx := ctrl.SetupSignalHandler()
	// The pacer sets the GC target (and with an RSS budget, the memory
	// limit) at once, then keeps them in step.
	go func() {
		_ = gomem.ScanPacer{Percent: gcPercent, MinRoom: gcMinRoom, RSS: rssBudget(o.server), Log: ctrl.Log.WithName("setup")}.Run(ctx)
	}()
	srv, err := server.Setup(ctx, mgr, o.server)
	if err != nil {
		return err
	}
	listen := func(addr string, h http.Handler) manager.Runnable { return srv.Shutdown.Listener(addr, h, nil) }
	if _, err := revalidateapi.Setup(ctx, mgr, o.api, srv.Table, listen); err != nil {
		return err
	}
	setupLog := ctrl.Log.WithName("setup")
	if o.api.Enabled() {
		setupLog.Info("revalidate API on", "address", o.api.BindAddress, "secret", o.api.Secret)
	} else {
		setupLog.Info("revalidate API off: no --revalidate-secret")
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	setupLog.Info("starting server", "version", version.Version, "listen", o.server.ListenAddress, "httpServer", o.server.HTTPServer, "namespaces", nss)
	return mgr.Start(ctx)
}

// rssBudget is the resident memory a server on an object store keeps
// within while its live heap allows: its page bodies (--cache-size) and
// what it needs besides; 0 (none) for ConfigMaps, where the pages held are
// not bounded. The pacer keeps Go's memory limit under the container's.
func rssBudget(o server.Options) int64 {
	size, _ := o.CacheBytes()
	if o.Storage != storage.BackendS3 || size <= 0 {
		return 0
	}
	return size + server.MemoryHeadroom
}

// gcPercent is the ScanPacer's share when GOGC is not set: the heap may
// grow by a quarter of what a collection scans before the next one, and by
// gcMinRoom at least. Most of what is live is page bodies, which hold no
// pointers and cost the collector almost nothing to mark, and a hit
// allocates nothing, so the collector runs only while pages load: a room
// sized to the pointers, not to the bodies, costs serving nothing and keeps
// the heap close to the pages held. A smaller share saves little memory
// and makes a ConfigMap server, which loads every page at once on a
// restart, collect so often while loading that it is ready later.
const gcPercent = 25

// gcMinRoom is the least the heap may grow between collections, so that a
// server with little to scan is not collected after every few loads; it
// matches Go's own smallest heap goal.
const gcMinRoom = 4 << 20
