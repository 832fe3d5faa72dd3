package controllers

import (
	"context"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// TestSitemapReaderReadsOncePerKey: a set asking again for the read it has
// queued or running gets no second read; asking for another key replaces
// it; each read that ends wakes its set.
func TestSitemapReaderReadsOncePerKey(t *testing.T) {
	s := newSitemapReader()
	ctx := t.Context()
	set := types.NamespacedName{Namespace: "a", Name: "products"}
	started, release := make(chan struct{}), make(chan struct{})
	var first, second atomic.Int32
	s.request(set, "v1", func(context.Context) {
		first.Add(1)
		close(started)
		<-release
	})
	go func() { _ = s.Start(ctx) }()
	<-started
	for range 3 {
		s.request(set, "v1", func(context.Context) { first.Add(1) })
	}
	s.request(set, "v2", func(context.Context) { second.Add(1) })
	close(release)
	for range 2 {
		if e := <-s.done; e.Object.GetNamespace() != set.Namespace || e.Object.GetName() != set.Name {
			t.Fatalf("woke %s/%s, want %s", e.Object.GetNamespace(), e.Object.GetName(), set)
		}
	}
	if first.Load() != 1 || second.Load() != 1 {
		t.Errorf("reads of v1: %d, of v2: %d; want one each", first.Load(), second.Load())
	}
}
