// Command manager runs the StaticPage controller: it renders pages from
// their origins into storage, one writer for the whole cluster.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/isr-operator/isr-operator/controllers"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/render"
	"github.com/isr-operator/isr-operator/internal/storage"
	"github.com/isr-operator/isr-operator/internal/version"
)

func main() {
	var (
		metricsAddr    = flag.String("metrics-bind-address", ":8080", "Address of the Prometheus /metrics endpoint; 0 disables it.")
		probeAddr      = flag.String("health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
		leaderElect    = flag.Bool("leader-elect", false, "Elect one active manager among replicas, so each page is rendered once per interval cluster-wide.")
		leaderNS       = flag.String("leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's namespace.")
		namespaces     = flag.String("namespaces", "", "Comma-separated namespaces to watch; empty watches all namespaces.")
		maxBody        = flag.Int64("max-body-size", 8<<20, "Largest origin body accepted, in bytes; a larger one fails the render and keeps the last good page.")
		defaultTimeout = flag.Duration("default-origin-timeout", 10*time.Second, "Origin fetch timeout for pages that set no spec.origin.timeout.")
		concurrency    = flag.Int("max-concurrent-renders", 4, "Pages rendered at the same time.")
		retryBase      = flag.Duration("retry-base-delay", time.Second, "First retry delay after a failed render; it doubles on each failure.")
		retryMax       = flag.Duration("retry-max-delay", 5*time.Minute, "Longest retry delay after failed renders.")
		showVersion    = flag.Bool("version", false, "Print the version and exit.")
	)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	if err := run(*metricsAddr, *probeAddr, *leaderElect, *leaderNS, *namespaces, *maxBody, *defaultTimeout, *concurrency, *retryBase, *retryMax); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func run(metricsAddr, probeAddr string, leaderElect bool, leaderNS, namespaces string, maxBody int64,
	defaultTimeout time.Duration, concurrency int, retryBase, retryMax time.Duration) error {
	if maxBody <= 0 {
		return fmt.Errorf("--max-body-size must be positive, got %d", maxBody)
	}
	if concurrency <= 0 {
		return fmt.Errorf("--max-concurrent-renders must be positive, got %d", concurrency)
	}
	nss, err := kube.SplitNamespaces(namespaces)
	if err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("finding the cluster: %w", err)
	}
	scheme := kube.Scheme()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   kube.CacheOptions(nss),
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "isr-operator-manager.pages.isr-operator.io",
		LeaderElectionNamespace: leaderNS,
		// A new leader starts at once when the old one stops cleanly.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}

	r := &controllers.StaticPageReconciler{
		Client:         mgr.GetClient(),
		Fetcher:        &render.Fetcher{Client: &http.Client{}, MaxBodyBytes: maxBody},
		Store:          &storage.ConfigMaps{Client: mgr.GetClient(), Scheme: scheme},
		Recorder:       mgr.GetEventRecorder("isr-operator"),
		DefaultTimeout: defaultTimeout,
	}
	if err := r.SetupWithManager(mgr, controllers.Options{
		MaxConcurrentRenders: concurrency, RetryBaseDelay: retryBase, RetryMaxDelay: retryMax,
	}); err != nil {
		return fmt.Errorf("setting up the controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager", "version", version.Version, "namespaces", nss, "leaderElection", leaderElect)
	return mgr.Start(ctrl.SetupSignalHandler())
}
