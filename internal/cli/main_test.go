package cli

import (
	"runtime"
	"testing"
)

func TestSampleAllocationsOnlyForTheProfiler(t *testing.T) {
	rate := runtime.MemProfileRate
	t.Cleanup(func() { runtime.MemProfileRate = rate })

	runtime.MemProfileRate = 512 << 10
	sampleAllocations("127.0.0.1:6060")
	if runtime.MemProfileRate != 512<<10 {
		t.Fatalf("with the profiler on, MemProfileRate = %d, want it left at %d", runtime.MemProfileRate, 512<<10)
	}
	for _, off := range []string{"0", ""} {
		runtime.MemProfileRate = 512 << 10
		sampleAllocations(off)
		if runtime.MemProfileRate != 0 {
			t.Fatalf("with --pprof-bind-address=%q, MemProfileRate = %d, want 0", off, runtime.MemProfileRate)
		}
	}
}
