// Package gomem tunes the Go runtime's memory settings the binaries share.
package gomem

import (
	"os"
	"runtime/debug"

	"github.com/go-logr/logr"
)

// SetGCPercent makes percent the GC target (how much the heap may grow
// beyond what is live before a collection; Go's default is 100), unless
// the GOGC environment variable says otherwise.
func SetGCPercent(percent int, log logr.Logger) {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(percent)
	log.Info("GC target set", "GOGC", percent)
}
