// Package gomem applies the Go runtime's memory policy the binaries share:
// a GC target and a soft memory limit, set once at start.
package gomem

import (
	"os"
	"runtime/debug"

	"github.com/go-logr/logr"
)

// Policy is a binary's memory policy.
type Policy struct {
	// GCPercent is the GC target (how much the heap may grow beyond what
	// is live before a collection) unless GOGC is set; 0 leaves Go's.
	GCPercent int
	// Limit, when positive, is the most the soft memory limit may be; the
	// limit is the smaller of this and the container's share (see Apply).
	Limit int64
}

// Settings is what Apply decides.
type Settings struct {
	// GCPercent is the GC target set; 0 when none is set.
	GCPercent int
	// GCFrom says where the GC target comes from: "policy", "GOGC" (the
	// environment's, left alone) or "go" (Go's default).
	GCFrom string
	// Limit is the soft memory limit set; 0 when none is set.
	Limit int64
	// LimitFrom says why: "container" (containerShare of the container's
	// memory limit), "policy" (Policy.Limit, lower than the container's
	// share or without one), "GOMEMLIMIT" (the environment's, left alone)
	// or "none" (no container limit and no Policy.Limit).
	LimitFrom string
}

// containerShare is the part of the container's memory limit Go's soft
// limit is set to: the rest is for what Go's limit does not count (the
// binary's mapped code, memory the runtime has not yet returned), so that
// the collector works harder before the kernel kills the process.
const containerShare = 0.9

// Apply sets the GC target and the soft memory limit of p, once, and logs
// what it set and why (0: left to the environment or to Go). An operator's
// GOGC or GOMEMLIMIT wins over p. The limit is the smaller of p.Limit and
// 90% of the container's (cgroup) memory limit, of those that exist; with
// neither, Go has no limit.
func Apply(log logr.Logger, p Policy) Settings {
	s := decide(p, os.Getenv, ContainerLimit())
	if s.GCPercent > 0 {
		debug.SetGCPercent(s.GCPercent)
	}
	if s.Limit > 0 {
		debug.SetMemoryLimit(s.Limit)
	}
	log.Info("memory policy applied", "gcPercent", s.GCPercent, "gcFrom", s.GCFrom, "memoryLimitBytes", s.Limit, "limitFrom", s.LimitFrom)
	return s
}

// decide is Apply's decision for p, with getenv reading the environment
// and container the container's memory limit (0: none).
func decide(p Policy, getenv func(string) string, container int64) Settings {
	var s Settings
	switch {
	case getenv("GOGC") != "":
		s.GCFrom = "GOGC"
	case p.GCPercent > 0:
		s.GCPercent, s.GCFrom = p.GCPercent, "policy"
	default:
		s.GCFrom = "go"
	}
	share := int64(float64(container) * containerShare)
	switch {
	case getenv("GOMEMLIMIT") != "":
		s.LimitFrom = "GOMEMLIMIT"
	case share > 0 && (p.Limit <= 0 || share <= p.Limit):
		s.Limit, s.LimitFrom = share, "container"
	case p.Limit > 0:
		s.Limit, s.LimitFrom = p.Limit, "policy"
	default:
		s.LimitFrom = "none"
	}
	return s
}
