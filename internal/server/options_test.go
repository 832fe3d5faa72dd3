package server

import (
	"testing"

	"github.com/isr-operator/isr-operator/internal/storage"
)

// TestMemoryLimit checks that Go's memory limit follows --cache-size with
// either storage, and that no bound sets no limit.
func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		storage, cacheSize string
		want               int64
	}{
		{storage.BackendConfigMap, "256Mi", 256<<20 + MemoryHeadroom},
		{storage.BackendS3, "64Mi", 64<<20 + MemoryHeadroom},
		{storage.BackendConfigMap, "0", 0},
		{storage.BackendS3, "", 0},
	} {
		o := Options{Storage: tc.storage, CacheSize: tc.cacheSize}
		if got := o.MemoryLimit(); got != tc.want {
			t.Errorf("--storage=%s --cache-size=%q: memory limit %d, want %d", tc.storage, tc.cacheSize, got, tc.want)
		}
	}
}
