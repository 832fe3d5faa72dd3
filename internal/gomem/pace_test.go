package gomem

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/go-logr/logr"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name string
		h    heapFigures
		want int
	}{
		// 100 MiB live, 10 MiB of it with pointers: room 5 MiB is 5% of
		// the 100 MiB base, under the 8 MiB floor, so 8%.
		{"mostly bodies", heapFigures{live: 100 * mib, scan: 10 * mib}, 8},
		// 400 MiB live, 60 MiB scanned: 30 MiB of room, 7.5% rounded up.
		{"many bodies, many pages", heapFigures{live: 400 * mib, scan: 60 * mib}, 8},
		// Everything holds pointers: the full percentage.
		{"all pointers", heapFigures{live: 100 * mib, scan: 100 * mib}, 50},
		// Stacks and globals count on both sides, as in Go's heap goal.
		{"stacks and globals", heapFigures{live: 80 * mib, scan: 0, stacks: 10 * mib, globals: 10 * mib}, 10},
		// A small heap gets the floor, capped at the percentage.
		{"small heap", heapFigures{live: 4 * mib, scan: 1 * mib}, 50},
		{"nothing measured", heapFigures{}, 50},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := gcPercentFor(50, 8*mib, c.h); got != c.want {
				t.Fatalf("gcPercentFor = %d, want %d", got, c.want)
			}
		})
	}
	if got := gcPercentFor(50, 0, heapFigures{live: 1 << 40, scan: 0}); got != 1 {
		t.Fatalf("a heap without pointers and no floor: %d, want the least target, 1", got)
	}
}

// gogc reads the GC target in force.
func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// pace runs a ScanPacer for one round: its context is already done, so it
// sets the target once and returns.
func pace(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (ScanPacer{Percent: 50, MinRoom: 8 << 20, Log: logr.Discard()}).Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestScanPacerFollowsTheHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	// 256 MiB of bytes without pointers, as page bodies are.
	bodies := make([][]byte, 256)
	for i := range bodies {
		bodies[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	pace(t)
	if got := gogc(); got >= 10 {
		t.Fatalf("GOGC = %d with a heap of bodies, want under 10", got)
	}
	runtime.KeepAlive(bodies)

	// The bodies go; what is left is small, so the floor gives it the full
	// percentage back.
	bodies = nil
	runtime.GC()
	pace(t)
	if got := gogc(); got != 50 {
		t.Fatalf("GOGC = %d once the bodies are gone, want 50", got)
	}
}

func TestScanPacerLeavesGOGCToTheOperator(t *testing.T) {
	t.Setenv("GOGC", "77")
	defer debug.SetGCPercent(debug.SetGCPercent(77))
	bodies := make([]byte, 256<<20)
	runtime.GC()
	pace(t)
	if got := gogc(); got != 77 {
		t.Fatalf("GOGC = %d, want the environment's 77", got)
	}
	runtime.KeepAlive(bodies)
}

func TestLimitFor(t *testing.T) {
	const mib = 1 << 20
	// 80 MiB live, 2 MiB unused in spans, 5 MiB of the runtime outside the
	// heap (total 100, heap 95): the floor is 80 + 2*4 + 2 + 5 = 95 MiB.
	h := heapFigures{live: 80 * mib, total: 100 * mib, objects: 85 * mib, unused: 2 * mib, free: 5 * mib, released: 3 * mib}
	cases := []struct {
		name                  string
		rss, fileRSS, ceiling int64
		live                  uint64
		want                  int64
	}{
		{"the budget less the mapped files", 128 * mib, 28 * mib, 0, 80 * mib, 100 * mib},
		{"the floor, when the live heap outgrows the budget", 128 * mib, 28 * mib, 0, 120 * mib, 135 * mib},
		{"the floor, when the files take the budget", 20 * mib, 28 * mib, 0, 80 * mib, 95 * mib},
		{"never above the container's share", 128 * mib, 28 * mib, 90 * mib, 120 * mib, 90 * mib},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := h
			h.live = c.live
			if got := limitFor(c.rss, c.fileRSS, c.ceiling, 4*mib, h); got != c.want {
				t.Fatalf("limitFor = %d MiB, want %d MiB", got/mib, c.want/mib)
			}
		})
	}
}

// budget runs a ScanPacer with an RSS budget for one round.
func budget(t *testing.T, rss int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (ScanPacer{Percent: 50, MinRoom: 8 << 20, RSS: rss, Log: logr.Discard()}).Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestScanPacerKeepsAnRSSBudget(t *testing.T) {
	if ContainerLimit() > 0 {
		t.Skip("the container's memory limit caps the budget")
	}
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	before := FileRSS()
	if before <= 0 {
		t.Skip("no RssFile in /proc/self/status")
	}
	budget(t, 1<<30)
	after := FileRSS()
	// The pacer read the mapped files between the two readings.
	low, high := 1<<30-max(before, after)-1<<20, 1<<30-min(before, after)+1<<20
	if got := debug.SetMemoryLimit(-1); got < low || got > high {
		t.Fatalf("memory limit %d KiB with a 1 GiB budget and %d to %d KiB mapped from files", got>>10, before>>10, after>>10)
	}

	t.Setenv("GOMEMLIMIT", "2GiB")
	debug.SetMemoryLimit(2 << 30)
	budget(t, 1<<30)
	if got := debug.SetMemoryLimit(-1); got != 2<<30 {
		t.Fatalf("memory limit %d MiB, want the environment's 2048", got>>20)
	}
}
