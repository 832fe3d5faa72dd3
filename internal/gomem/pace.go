package gomem

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/go-logr/logr"
)

// ScanPacer sets the GC target so that the heap may grow, between
// collections, by a share of what a collection has to scan (objects holding
// pointers, goroutine stacks, globals) rather than of everything live.
// GOGC's room is a share of the whole live heap; in a server whose heap is
// mostly page bodies, which hold no pointers and cost a collection almost
// nothing, that room is mostly idle memory proportional to the bodies held.
type ScanPacer struct {
	// Percent is the room, as a percentage of what a collection scans; it
	// is also the highest GC target set.
	Percent int
	// MinRoom is the least room in bytes, so a small heap is not collected
	// after every few allocations.
	MinRoom uint64
	// Every is how often the target follows the heap.
	Every time.Duration
	// Log receives the first target at Info and its changes at V(1).
	Log logr.Logger
}

// paceMetrics are the runtime figures gcPercentFor needs, in the order Run
// reads them into heapFigures.
var paceMetrics = []string{
	"/gc/heap/live:bytes",
	"/gc/scan/heap:bytes",
	"/gc/scan/stack:bytes",
	"/gc/scan/globals:bytes",
}

// heapFigures is what the last collection found.
type heapFigures struct {
	// live is the heap marked live; scan is the part of it holding pointers.
	live, scan uint64
	// stacks and globals are the goroutine stacks and globals scanned.
	stacks, globals uint64
}

// gcPercentFor is the GC target giving a room of percent% of what a
// collection scans, and at least minRoom, in [1, percent]. Go's heap goal
// is live + (live + stacks + globals) * GOGC / 100.
func gcPercentFor(percent int, minRoom uint64, h heapFigures) int {
	base := h.live + h.stacks + h.globals
	if base == 0 || percent <= 1 {
		return max(percent, 1)
	}
	room := max((h.scan+h.stacks+h.globals)*uint64(percent)/100, minRoom)
	// Rounded up, so the room is never below what was asked for.
	p := int((room*100 + base - 1) / base)
	return min(max(p, 1), percent)
}

// Run sets the GC target to gcPercentFor at once, then every Every, until
// ctx ends. It does nothing when the GOGC environment variable is set: the
// operator's value wins.
func (p ScanPacer) Run(ctx context.Context) error {
	if os.Getenv("GOGC") != "" {
		return nil
	}
	samples := make([]metrics.Sample, len(paceMetrics))
	for i, name := range paceMetrics {
		samples[i].Name = name
	}
	every := p.Every
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	current := -1
	for {
		metrics.Read(samples)
		h := heapFigures{
			live:    sampleUint(samples[0]),
			scan:    sampleUint(samples[1]),
			stacks:  sampleUint(samples[2]),
			globals: sampleUint(samples[3]),
		}
		if want := gcPercentFor(p.Percent, p.MinRoom, h); want != current {
			debug.SetGCPercent(want)
			if current < 0 {
				p.Log.Info("GC target set, to follow what a collection scans", "GOGC", want, "percentOfScan", p.Percent, "minRoomBytes", p.MinRoom)
			} else {
				p.Log.V(1).Info("GC target follows the heap", "GOGC", want, "liveBytes", h.live, "scanBytes", h.scan)
			}
			current = want
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sampleUint is a uint64 sample's value, 0 when this Go does not know it.
func sampleUint(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}
