package controllers

import (
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// namespaceRoundRobin is the order in which the StaticPage controller's
// workers take pages: a FIFO per namespace, the namespaces taken in turn, so
// that a namespace with many pages due waits behind its own pages, not in
// front of everyone else's. With the per-namespace cap
// (--max-concurrent-renders-per-namespace), a namespace whose renders hang
// holds at most its share of the workers, and its other pages, put off,
// come back into its own FIFO.
//
// It is the queue under client-go's work queue, which keeps its guarantees
// (an item queued once however often it is added, never processed by two
// workers at once) and calls it with its lock held.
type namespaceRoundRobin struct {
	// turns holds each namespace with queued pages once, in the order of
	// their next turn.
	turns []string
	// queued are each namespace's pages, in the order they were added.
	queued map[string][]reconcile.Request
	n      int
}

var _ workqueue.Queue[reconcile.Request] = (*namespaceRoundRobin)(nil)

// Touch leaves a page queued again in its place.
func (q *namespaceRoundRobin) Touch(reconcile.Request) {}

// Push queues a page at the end of its namespace's FIFO; a namespace with
// no page queued takes its turn after every namespace that has one.
func (q *namespaceRoundRobin) Push(req reconcile.Request) {
	if q.queued == nil {
		q.queued = map[string][]reconcile.Request{}
	}
	ns := req.Namespace
	if len(q.queued[ns]) == 0 {
		q.turns = append(q.turns, ns)
	}
	q.queued[ns] = append(q.queued[ns], req)
	q.n++
}

// Len is the number of pages queued in all namespaces.
func (q *namespaceRoundRobin) Len() int { return q.n }

// Pop takes the first page of the namespace whose turn it is; the namespace,
// if it has more, takes its next turn after the others.
func (q *namespaceRoundRobin) Pop() reconcile.Request {
	ns := q.turns[0]
	q.turns = q.turns[1:]
	reqs := q.queued[ns]
	req := reqs[0]
	reqs[0] = reconcile.Request{}
	if reqs = reqs[1:]; len(reqs) > 0 {
		q.queued[ns] = reqs
		q.turns = append(q.turns, ns)
	} else {
		delete(q.queued, ns)
	}
	q.n--
	return req
}

// newFairQueue is the StaticPage controller's work queue: client-go's
// rate-limited, delaying queue, as controller-runtime builds it, over
// namespaceRoundRobin.
func newFairQueue(name string, limiter workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{
		Name: name,
		DelayingQueue: workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[reconcile.Request]{
			Name: name,
			Queue: workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[reconcile.Request]{
				Name:  name,
				Queue: &namespaceRoundRobin{},
			}),
		}),
	})
}
