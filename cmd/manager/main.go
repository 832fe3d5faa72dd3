// Command manager runs the StaticPage controller: it renders pages from
// their origins into storage, one writer for the whole cluster.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
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

// config is what the flags set.
type config struct {
	metricsAddr, probeAddr    string
	leaderElect               bool
	leaderNS, namespaces      string
	maxBody                   int64
	defaultTimeout            time.Duration
	concurrency, perHost      int
	retryBase, retryMax       time.Duration
	allowOrigins, contentType listFlag
	maxRedirects              int
}

// listFlag is a flag that may be repeated and holds comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

func main() {
	var c config
	flag.StringVar(&c.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus /metrics endpoint; 0 disables it.")
	flag.StringVar(&c.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	flag.BoolVar(&c.leaderElect, "leader-elect", false, "Elect one active manager among replicas, so each page is rendered once per interval cluster-wide.")
	flag.StringVar(&c.leaderNS, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's namespace.")
	flag.StringVar(&c.namespaces, "namespaces", "", "Comma-separated namespaces to watch; empty watches all namespaces.")
	flag.Int64Var(&c.maxBody, "max-body-size", 8<<20, "Largest origin body accepted, in bytes; a larger one fails the render and keeps the last good page.")
	flag.DurationVar(&c.defaultTimeout, "default-origin-timeout", 10*time.Second, "Origin fetch timeout for pages that set no spec.origin.timeout.")
	flag.IntVar(&c.concurrency, "max-concurrent-renders", 4, "Pages rendered at the same time, over all origins.")
	flag.IntVar(&c.perHost, "max-concurrent-renders-per-host", 2, "Pages rendered at the same time from one origin host (host:port), so pages due together do not flood one backend; 0 means no cap.")
	flag.DurationVar(&c.retryBase, "retry-base-delay", time.Second, "First retry delay after a failed render; it doubles on each failure.")
	flag.DurationVar(&c.retryMax, "retry-max-delay", 5*time.Minute, "Longest retry delay after failed renders.")
	flag.Var(&c.allowOrigins, "allow-origin", "Host name, IP or CIDR allowed as an origin although it resolves to a loopback, link-local or unspecified address (refused by default); repeatable and comma-separated.")
	flag.IntVar(&c.maxRedirects, "max-redirects", 5, "Redirects an origin fetch follows, each checked like the origin; more fail the render.")
	flag.Var(&c.contentType, "allowed-content-types", "Comma-separated media types an origin may answer with (type/* and * allowed); default: "+strings.Join(render.DefaultContentTypes, ",")+".")
	showVersion := flag.Bool("version", false, "Print the version and exit.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if err := run(c); err != nil {
		ctrl.Log.WithName("setup").Error(err, "manager stopped")
		os.Exit(1)
	}
}

func run(c config) error {
	if c.maxBody <= 0 {
		return fmt.Errorf("--max-body-size must be positive, got %d", c.maxBody)
	}
	if c.concurrency <= 0 {
		return fmt.Errorf("--max-concurrent-renders must be positive, got %d", c.concurrency)
	}
	if c.perHost < 0 {
		return fmt.Errorf("--max-concurrent-renders-per-host must not be negative, got %d", c.perHost)
	}
	if c.maxRedirects < 0 {
		return fmt.Errorf("--max-redirects must not be negative, got %d", c.maxRedirects)
	}
	guard, err := render.NewGuard(c.allowOrigins)
	if err != nil {
		return fmt.Errorf("--allow-origin: %w", err)
	}
	types, err := render.ParseContentTypes(c.contentType)
	if err != nil {
		return fmt.Errorf("--allowed-content-types: %w", err)
	}
	nss, err := kube.SplitNamespaces(c.namespaces)
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
		Metrics:                 metricsserver.Options{BindAddress: c.metricsAddr},
		HealthProbeBindAddress:  c.probeAddr,
		LeaderElection:          c.leaderElect,
		LeaderElectionID:        "isr-operator-manager.pages.isr-operator.io",
		LeaderElectionNamespace: c.leaderNS,
		// A new leader starts at once when the old one stops cleanly.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}

	r := &controllers.StaticPageReconciler{
		Client: mgr.GetClient(),
		Fetcher: &render.Fetcher{
			Client:       render.NewClient(render.ClientOptions{Guard: guard, MaxRedirects: c.maxRedirects}),
			MaxBodyBytes: c.maxBody,
			ContentTypes: types,
		},
		Store:          &storage.ConfigMaps{Client: mgr.GetClient(), Scheme: scheme},
		Recorder:       mgr.GetEventRecorder("isr-operator"),
		DefaultTimeout: c.defaultTimeout,
		Hosts:          &render.HostLimiter{Max: c.perHost},
	}
	if err := r.SetupWithManager(mgr, controllers.Options{
		MaxConcurrentRenders: c.concurrency, RetryBaseDelay: c.retryBase, RetryMaxDelay: c.retryMax,
	}); err != nil {
		return fmt.Errorf("setting up the controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager", "version", version.Version, "namespaces", nss,
		"leaderElection", c.leaderElect, "allowOrigins", []string(c.allowOrigins), "maxRedirects", c.maxRedirects,
		"maxConcurrentRenders", c.concurrency, "maxConcurrentRendersPerHost", c.perHost)
	return mgr.Start(ctrl.SetupSignalHandler())
}
