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
	// RSS, when not 0, is the resident memory the process should keep
	// within: each round, Go's soft memory limit becomes RSS less what is
	// mapped from files (the binary's code and data, which Go's limit does
	// not count), so the collector and the scavenger hand back garbage and
	// freed pages before RSS passes it; but never less than the live heap
	// and twice its room, so a heap that outgrows RSS costs memory, not a
	// collector that runs all the time; nor more than 90% of the
	// container's memory limit. Nothing is done when GOMEMLIMIT is set.
	RSS int64
	// Every is how often the target follows the heap.
	Every time.Duration
	// Log receives the first target at Info and its changes at V(1).
	Log logr.Logger
}

// paceMetrics are the runtime figures gcPercentFor and limitFor need, in
// the order Run reads them into heapFigures.
var paceMetrics = []string{
	"/gc/heap/live:bytes",
	"/gc/scan/heap:bytes",
	"/gc/scan/stack:bytes",
	"/gc/scan/globals:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

// heapFigures is what the last collection found, and what the runtime
// holds now.
type heapFigures struct {
	// live is the heap marked live; scan is the part of it holding pointers.
	live, scan uint64
	// stacks and globals are the goroutine stacks and globals scanned.
	stacks, globals uint64
	// total is all memory the runtime has mapped; objects, unused, free
	// and released are its heap's parts: allocated objects, the unused
	// rest of their spans, free pages kept, and free pages handed back.
	total, objects, unused, free, released uint64
}

// room is the heap growth between collections for a target of percent%
// of what a collection scans, and at least minRoom.
func (h heapFigures) room(percent int, minRoom uint64) uint64 {
	return max((h.scan+h.stacks+h.globals)*uint64(max(percent, 0))/100, minRoom)
}

// gcPercentFor is the GC target giving a room of percent% of what a
// collection scans, and at least minRoom, in [1, percent]. Go's heap goal
// is live + (live + stacks + globals) * GOGC / 100.
func gcPercentFor(percent int, minRoom uint64, h heapFigures) int {
	base := h.live + h.stacks + h.globals
	if base == 0 || percent <= 1 {
		return max(percent, 1)
	}
	room := h.room(percent, minRoom)
	// Rounded up, so the room is never below what was asked for.
	p := int((room*100 + base - 1) / base)
	return min(max(p, 1), percent)
}

// limitFor is the soft memory limit keeping RSS within rss when fileRSS of
// it is mapped from files (see ScanPacer.RSS), capped at ceiling (0: none).
// Go's limit counts what the runtime maps and has not handed back; the
// floor is the live heap with twice the collector's room, the unused part
// of the heap's spans and the runtime's memory outside the heap (stacks,
// metadata), so that the collector is never run more often than the room
// asks.
func limitFor(rss, fileRSS, ceiling int64, room uint64, h heapFigures) int64 {
	heap := h.objects + h.unused + h.free + h.released
	var outside uint64
	if h.total > heap {
		outside = h.total - heap
	}
	floor := int64(min(h.live+2*room+h.unused+outside, 1<<62))
	limit := max(rss-fileRSS, floor)
	if ceiling > 0 {
		limit = min(limit, ceiling)
	}
	return limit
}

// limitStep is the least change of the soft memory limit Run makes: the
// figures move a little every round.
const limitStep = 1 << 20

// Run sets the GC target to gcPercentFor at once, then every Every, until
// ctx ends, and with RSS set, the soft memory limit to limitFor. The GC
// target is left alone when the GOGC environment variable is set, the
// limit when GOMEMLIMIT is: the operator's value wins.
func (p ScanPacer) Run(ctx context.Context) error {
	pace := os.Getenv("GOGC") == ""
	budget := p.RSS > 0 && os.Getenv("GOMEMLIMIT") == ""
	if !pace && !budget {
		return nil
	}
	ceiling := containerCeiling()
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
	current, limit := -1, int64(-1)
	for {
		metrics.Read(samples)
		h := heapFigures{
			live:     sampleUint(samples[0]),
			scan:     sampleUint(samples[1]),
			stacks:   sampleUint(samples[2]),
			globals:  sampleUint(samples[3]),
			total:    sampleUint(samples[4]),
			objects:  sampleUint(samples[5]),
			unused:   sampleUint(samples[6]),
			free:     sampleUint(samples[7]),
			released: sampleUint(samples[8]),
		}
		if budget {
			want := limitFor(p.RSS, FileRSS(), ceiling, h.room(p.Percent, p.MinRoom), h)
			if limit < 0 || want > limit+limitStep || want < limit-limitStep {
				debug.SetMemoryLimit(want)
				if limit < 0 {
					p.Log.Info("memory limit set, to keep RSS within a budget", "GOMEMLIMIT", want, "rssBudget", p.RSS)
				} else {
					p.Log.V(1).Info("memory limit follows the heap", "GOMEMLIMIT", want, "liveBytes", h.live)
				}
				limit = want
			}
		}
		if want := gcPercentFor(p.Percent, p.MinRoom, h); pace && want != current {
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
