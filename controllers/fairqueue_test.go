package controllers

import (
	"fmt"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func req(ns, name string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
}

// take gets n requests from q, marking each done, as a worker does.
func take(q workqueue.TypedRateLimitingInterface[reconcile.Request], n int) []string {
	var got []string
	for range n {
		r, _ := q.Get()
		got = append(got, r.String())
		q.Done(r)
	}
	return got
}

// TestFairQueueTakesNamespacesInTurn: pages queued by one namespace before
// another's are not all taken first; each namespace gets a turn, in its own
// order, and a page added twice is queued once.
func TestFairQueueTakesNamespacesInTurn(t *testing.T) {
	q := newFairQueue("", workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	for i := range 5 {
		q.Add(req("a", fmt.Sprintf("tarpit-%d", i)))
	}
	q.Add(req("a", "tarpit-0"))
	q.Add(req("b", "home"))
	q.Add(req("c", "home"))
	q.Add(req("b", "about"))
	if q.Len() != 8 {
		t.Fatalf("Len = %d, want 8 (a page added twice is queued once)", q.Len())
	}
	want := []string{"a/tarpit-0", "b/home", "c/home", "a/tarpit-1", "b/about", "a/tarpit-2", "a/tarpit-3", "a/tarpit-4"}
	if got := take(q, 8); !slices.Equal(got, want) {
		t.Errorf("taken in the order %v, want %v", got, want)
	}

	// A namespace that comes back takes its turn after those queued.
	q.Add(req("a", "x"))
	q.Add(req("a", "y"))
	q.Add(req("b", "z"))
	got := take(q, 1)
	q.Add(req("c", "w"))
	got = append(got, take(q, 3)...)
	if want := []string{"a/x", "b/z", "a/y", "c/w"}; !slices.Equal(got, want) {
		t.Errorf("taken in the order %v, want %v", got, want)
	}
}

// TestRendersPerNamespace: half the workers by default, at least one, or
// the flag.
func TestRendersPerNamespace(t *testing.T) {
	for _, tt := range []struct{ total, flag, want int }{{4, 0, 2}, {5, 0, 2}, {1, 0, 1}, {4, 3, 3}, {4, 8, 8}} {
		o := Options{MaxConcurrentRenders: tt.total, MaxConcurrentRendersPerNamespace: tt.flag}
		if got := o.RendersPerNamespace(); got != tt.want {
			t.Errorf("%d renders, --max-concurrent-renders-per-namespace=%d: cap %d, want %d", tt.total, tt.flag, got, tt.want)
		}
	}
}
