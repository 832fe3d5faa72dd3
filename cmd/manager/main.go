// Command manager runs the StaticPage controller: it renders pages from
// their origins into storage, one writer for the whole cluster.
package main

import (
	"flag"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/isr-operator/isr-operator/controllers"
	"github.com/isr-operator/isr-operator/internal/cli"
	"github.com/isr-operator/isr-operator/internal/gomem"
	"github.com/isr-operator/isr-operator/internal/kube"
	"github.com/isr-operator/isr-operator/internal/version"
)

// options is what the flags set.
type options struct {
	metricsAddr, probeAddr, pprofAddr string
	leaderElect                       bool
	leaderNS, namespaces              string
	controller                        controllers.Options
}

func main() {
	o := options{controller: controllers.DefaultOptions()}
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus /metrics endpoint; 0 disables it.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "Elect one active manager among replicas, so each page is rendered once per interval cluster-wide.")
	flag.StringVar(&o.leaderNS, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's namespace.")
	flag.StringVar(&o.namespaces, "namespaces", "", "Comma-separated namespaces to watch; empty watches all namespaces.")
	o.controller.BindFlags(flag.CommandLine)
	cli.Main("manager", &o.pprofAddr, func() error { return run(o) })
}

func run(o options) error {
	if err := o.controller.Validate(); err != nil {
		return err
	}
	gomem.Apply(ctrl.Log.WithName("setup"), gomem.Policy{GCPercent: controllers.GCPercent})
	nss, err := cli.SplitNamespaces(o.namespaces)
	if err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("finding the cluster: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  kube.Scheme(),
		Cache:                   kube.CacheOptions(nss),
		Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "isr-operator-manager.pages.isr-operator.io",
		LeaderElectionNamespace: o.leaderNS,
		// A new leader starts at once when the old one stops cleanly, so a
		// rollout loses no interval.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	if _, err := controllers.Setup(mgr, o.controller); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager", "version", version.Version, "namespaces", nss,
		"leaderElection", o.leaderElect, "allowOrigins", []string(o.controller.AllowOrigins),
		"maxRedirects", o.controller.MaxRedirects, "maxConcurrentRenders", o.controller.MaxConcurrentRenders,
		"maxConcurrentRendersPerHost", o.controller.MaxConcurrentRendersPerHost, "hostGrants", o.controller.HostGrants)
	return mgr.Start(ctrl.SetupSignalHandler())
}
