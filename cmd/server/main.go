// Command server serves rendered pages from memory with
// stale-while-revalidate; it runs beside the manager or as its own
// Deployment, as many replicas as traffic needs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/server"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/version"
	"github.com/isr-operator/isr-operator/internal/webhook"
)

func main() {
	var (
		listen      = flag.String("listen-address", ":8000", "Address pages are served on.")
		metricsAddr = flag.String("metrics-bind-address", ":8090", "Address of the Prometheus /metrics endpoint; 0 disables it.")
		probeAddr   = flag.String("health-probe-bind-address", ":8091", "Address of /healthz and /readyz (ready once every page is loaded).")
		namespaces  = flag.String("namespaces", "", "Comma-separated namespaces to serve pages from; empty serves all namespaces.")
		swr         = flag.Duration("stale-while-revalidate", 24*time.Hour, "Cache-Control stale-while-revalidate sent to downstream caches.")
		sie         = flag.Duration("stale-if-error", 7*24*time.Hour, "Cache-Control stale-if-error sent to downstream caches.")
		onDemand    = flag.Duration("on-demand-max-age", time.Minute, "Cache-Control s-maxage of pages without spec.revalidate, which change only on demand.")
		maxBody     = flag.Int64("max-body-size", 8<<20, "Largest page loaded into memory, in bytes uncompressed.")
		grace       = flag.Duration("shutdown-grace-period", 15*time.Second, "How long in-flight requests may finish on shutdown.")
		noTrigger   = flag.Bool("disable-on-request-revalidation", false, "Never annotate stale OnRequest pages (a read-only replica); they then refresh only on demand.")
		api         apiConfig
		showVersion = flag.Bool("version", false, "Print the version and exit.")
	)
	flag.StringVar(&api.addr, "revalidate-bind-address", ":8001", "Address of the revalidate API (POST /revalidate), apart from the pages so it can be exposed separately.")
	flag.StringVar(&api.secret, "revalidate-secret", "", "Secret holding the revalidate API's credentials (keys token, hmac-secret), as namespace/name or a name in POD_NAMESPACE; empty turns the API off.")
	flag.Float64Var(&api.rate, "revalidate-rate-limit", 5, "Revalidate API calls per second allowed from one client address.")
	flag.IntVar(&api.burst, "revalidate-burst", 10, "Revalidate API calls one client address may send in a burst.")
	flag.Int64Var(&api.maxBody, "revalidate-max-body-size", 64<<10, "Largest revalidate API request body, in bytes.")
	flag.DurationVar(&api.window, "revalidate-signature-window", 5*time.Minute, "How far a signed call's X-Isr-Timestamp may be from now; older signatures are refused as replays.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	policy := server.CachePolicy{StaleWhileRevalidate: *swr, StaleIfError: *sie, OnDemandMaxAge: *onDemand, MaxBodyBytes: *maxBody}
	if err := run(*listen, *metricsAddr, *probeAddr, *namespaces, policy, *grace, !*noTrigger, api); err != nil {
		ctrl.Log.WithName("setup").Error(err, "server stopped")
		os.Exit(1)
	}
}

// apiConfig is what the revalidate API flags set.
type apiConfig struct {
	addr, secret string
	rate         float64
	burst        int
	maxBody      int64
	window       time.Duration
}

func run(listen, metricsAddr, probeAddr, namespaces string, policy server.CachePolicy, grace time.Duration, trigger bool, api apiConfig) error {
	if policy.StaleWhileRevalidate < 0 || policy.StaleIfError < 0 || policy.OnDemandMaxAge < 0 {
		return fmt.Errorf("cache durations must not be negative")
	}
	nss, err := kube.SplitNamespaces(namespaces)
	if err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("finding the cluster: %w", err)
	}
	cacheOpts := kube.CacheOptions(nss)
	var secret types.NamespacedName
	if api.secret != "" {
		if secret, err = webhook.ParseSecretRef(api.secret); err != nil {
			return fmt.Errorf("--revalidate-secret: %w", err)
		}
		if api.rate < 0 || api.burst < 1 || api.maxBody < 1 || api.window <= 0 {
			return fmt.Errorf("--revalidate-rate-limit must not be negative, and --revalidate-burst, --revalidate-max-body-size and --revalidate-signature-window must be positive")
		}
		cacheOpts = webhook.WatchSecret(cacheOpts, secret)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 kube.Scheme(),
		Cache:                  cacheOpts,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	table := server.NewTable()
	sync := &server.RouteSync{
		Client: mgr.GetClient(),
		Store:  &storage.ConfigMaps{Client: mgr.GetClient(), Scheme: mgr.GetScheme()},
		Table:  table,
		Policy: policy,
	}
	if err := sync.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the route table: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	h := &server.Handler{Table: table, Clock: clock.RealClock{}, Log: ctrl.Log.WithName("server"), BaseContext: context.WithoutCancel(ctx)}
	if trigger {
		h.Revalidator = &server.AnnotationRevalidator{Client: mgr.GetClient()}
	}
	if err := mgr.Add(server.Listener(listen, h, grace)); err != nil {
		return err
	}
	if api.secret != "" {
		// Ask for the Secret's informer now, so it syncs with the others
		// before the server is ready.
		if _, err := mgr.GetCache().GetInformer(ctx, &corev1.Secret{}); err != nil {
			return fmt.Errorf("watching Secret %s: %w", secret, err)
		}
		apiHandler := &webhook.Handler{
			Reader: mgr.GetClient(), Writer: mgr.GetClient(), Table: table, Secret: secret,
			Verifier:     &webhook.Verifier{Window: api.window},
			Limiter:      &webhook.Limiter{Rate: api.rate, Burst: api.burst},
			Namespaces:   nss,
			MaxBodyBytes: api.maxBody, Clock: clock.RealClock{}, Log: ctrl.Log.WithName("revalidate-api"),
		}
		if err := mgr.Add(server.Listener(api.addr, apiHandler, grace)); err != nil {
			return err
		}
		ctrl.Log.WithName("setup").Info("revalidate API on", "address", api.addr, "secret", secret)
	} else {
		ctrl.Log.WithName("setup").Info("revalidate API off: no --revalidate-secret")
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("routes", sync.Ready); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting server", "version", version.Version, "listen", listen, "namespaces", nss)
	return mgr.Start(ctx)
}
