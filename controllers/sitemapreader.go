package controllers

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// sitemapWorkers is how many sitemaps are read at once, apart from the
// sets' reconciles: a sitemap that is slow to answer holds one of these,
// never a set worker, so other sets' expiry, eviction and prerendering go
// on meanwhile.
const sitemapWorkers = 2

// sitemapReader reads sets' sitemaps in the background, sitemapWorkers at
// a time, one read per set at once, and wakes the set when its read is
// done.
type sitemapReader struct {
	queue workqueue.TypedInterface[types.NamespacedName]
	// done carries the set whose read ended to the set controller.
	done chan event.GenericEvent

	mu sync.Mutex
	// jobs are the reads queued or running, by set.
	jobs map[types.NamespacedName]sitemapJob
}

// sitemapJob is one read of a set's sitemap.
type sitemapJob struct {
	// key says what is read (sitemapRead.key): a read of another key for
	// the same set replaces it.
	key string
	// read reads the sitemap and records what it gave.
	read func(ctx context.Context)
}

func newSitemapReader() *sitemapReader {
	return &sitemapReader{
		queue: workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[types.NamespacedName]{}),
		done:  make(chan event.GenericEvent, 1024),
		jobs:  map[types.NamespacedName]sitemapJob{},
	}
}

// request queues a read of set's sitemap for key, unless one is queued or
// running already; it never waits.
func (s *sitemapReader) request(set types.NamespacedName, key string, read func(context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.jobs[set]; ok && j.key == key {
		return
	}
	s.jobs[set] = sitemapJob{key: key, read: read}
	s.queue.Add(set)
}

// Start runs the workers until ctx ends.
func (s *sitemapReader) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for range sitemapWorkers {
		wg.Go(func() {
			for s.next(ctx) {
			}
		})
	}
	<-ctx.Done()
	s.queue.ShutDown()
	wg.Wait()
	return nil
}

// next runs one queued read and wakes its set; false once the queue is
// shut down.
func (s *sitemapReader) next(ctx context.Context) bool {
	set, shutdown := s.queue.Get()
	if shutdown {
		return false
	}
	defer s.queue.Done(set)
	s.mu.Lock()
	job, ok := s.jobs[set]
	s.mu.Unlock()
	if !ok {
		return true
	}
	job.read(ctx)
	s.mu.Lock()
	if s.jobs[set].key == job.key {
		delete(s.jobs, set)
	}
	s.mu.Unlock()
	select {
	case s.done <- event.GenericEvent{Object: &pagesv1alpha1.StaticPageSet{ObjectMeta: metav1.ObjectMeta{Namespace: set.Namespace, Name: set.Name}}}:
	case <-ctx.Done():
	}
	return true
}
