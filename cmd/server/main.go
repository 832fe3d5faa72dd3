// Command server serves rendered pages from memory with
// stale-while-revalidate; it runs beside the manager or as its own
// Deployment, as many replicas as traffic needs.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/isr-operator/isr-operator/internal/cli"
	"github.com/isr-operator/isr-operator/internal/gomem"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/revalidateapi"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/version"
	"github.com/isr-operator/isr-operator/internal/webhook"
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
	cli.Main("server", &o.pprofAddr, func() error { return run(o) })
}

func run(o options) error {
	nss, err := cli.SplitNamespaces(o.namespaces)
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
	gomem.Apply(ctrl.Log.WithName("setup"), gomem.Policy{GCPercent: server.GCPercent, Limit: o.server.MemoryLimit()})
	cacheOpts, err := o.api.CacheOptions(kube.ServerCacheOptions(nss))
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
		Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		GracefulShutdownTimeout: &stop,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	if o.api.Enabled() {
		// The Leases that record used signatures record the StaticPageSets'
		// creation slots too, so that each set's maxCreationRate is one
		// budget across the replicas; the API's sweep removes both.
		secret, err := revalidateapi.ParseSecretRef(o.api.Secret)
		if err != nil {
			return fmt.Errorf("--revalidate-secret: %w", err)
		}
		o.server.CreationSlots = &revalidateapi.LeaseReplays{
			Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Namespace: secret.Namespace, Clock: clock.RealClock{},
		}
	}
	srv, err := server.Setup(ctx, mgr, o.server)
	if err != nil {
		return err
	}
	// WebhookReceivers are served on the revalidate API's port, beside it.
	var hooks *webhook.Handler
	if o.api.Enabled() {
		if hooks, err = webhook.Setup(ctx, mgr); err != nil {
			return err
		}
	}
	listen := func(addr string, h http.Handler) manager.Runnable {
		return srv.Shutdown.Listener(addr, webhook.Route(h, hooks), nil)
	}
	api, err := revalidateapi.Setup(ctx, mgr, o.api, srv.Table, listen)
	if err != nil {
		return err
	}
	if hooks != nil {
		hooks.API = api
	}
	setupLog := ctrl.Log.WithName("setup")
	if o.api.Enabled() {
		setupLog.Info("revalidate API and WebhookReceivers on", "address", o.api.BindAddress, "secret", o.api.Secret)
	} else {
		setupLog.Info("revalidate API and WebhookReceivers off: no --revalidate-secret")
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	setupLog.Info("starting server", "version", version.Version, "listen", o.server.ListenAddress, "namespaces", nss, "hostGrants", o.server.HostGrants)
	return mgr.Start(ctx)
}
