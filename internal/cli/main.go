// Package cli is the command line both binaries share: the process entry
// point (Main), list-valued flags (StringList) and --namespaces
// (SplitNamespaces).
package cli

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/isr-operator/isr-operator/internal/version"
)

// Main ends both binaries' main: to the flags bound so far it adds
// --pprof-bind-address (into pprofAddr), --version and the logging flags,
// parses the command line, sets the logger and runs run, exiting 1, with
// "<what> stopped" logged, when run fails.
func Main(what string, pprofAddr *string, run func() error) {
	flag.StringVar(pprofAddr, "pprof-bind-address", "0", "Address of the Go profiler (/debug/pprof/), for finding where time and memory go; 0 disables it. Keep it on loopback: profiles show page bodies.")
	showVersion := flag.Bool("version", false, "Print the version and exit.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	sampleAllocations(*pprofAddr)
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if err := run(); err != nil {
		ctrl.Log.WithName("setup").Error(err, what+" stopped")
		os.Exit(1)
	}
}

// sampleAllocations turns off sampling allocations for heap profiles when
// the profiler is off (pprofAddr "0" or empty): nobody could read them, and
// each sample walks the stack through the binary's function tables, which
// then stay in memory, and keeps a record per allocation site.
func sampleAllocations(pprofAddr string) {
	if pprofAddr == "0" || pprofAddr == "" {
		runtime.MemProfileRate = 0
	}
}
