package server

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// countingSlots is a SlotStore in this process that counts its calls.
type countingSlots struct {
	mu    sync.Mutex
	taken map[string]bool
	calls int
}

func (c *countingSlots) TryClaim(_ context.Context, key string, _ time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.taken == nil {
		c.taken = map[string]bool{}
	}
	if c.taken[key] {
		return false, nil
	}
	c.taken[key] = true
	return true, nil
}

func budgetSet(rate int32) *pagesv1alpha1.StaticPageSet {
	return &pagesv1alpha1.StaticPageSet{
		ObjectMeta: metav1.ObjectMeta{UID: "uid-1"},
		Spec:       pagesv1alpha1.StaticPageSetSpec{MaxCreationRate: rate},
	}
}

func TestClientSlots(t *testing.T) {
	for rate, want := range map[int32]int32{1: 1, 2: 1, 4: 1, 5: 2, 8: 2, 10: 3, 1000: 250} {
		if got := clientSlots(rate); got != want {
			t.Errorf("clientSlots(%d) = %d, want %d", rate, got, want)
		}
	}
}

// takes counts the creates n calls of take allow, each from client(i),
// on replicas budgets in turn.
func takes(t *testing.T, store SlotStore, replicas []*creationBudget, set *pagesv1alpha1.StaticPageSet, now time.Time, n int, client func(int) string) int {
	t.Helper()
	ok := 0
	for i := range n {
		got, err := replicas[i%len(replicas)].take(context.Background(), store, set, client(i), now)
		if err != nil {
			t.Fatal(err)
		}
		if got {
			ok++
		}
	}
	return ok
}

func TestCreationBudgetAcrossReplicas(t *testing.T) {
	store := &countingSlots{}
	replicas := []*creationBudget{{}, {}, {}, {}}
	set := budgetSet(5)
	now := time.Unix(1_800_000_000, 0)
	distinct := func(i int) string { return fmt.Sprintf("192.0.2.%d", i) }

	if got := takes(t, store, replicas, set, now, 40, distinct); got != 5 {
		t.Fatalf("4 replicas created %d pages in a window, want the budget, 5", got)
	}
	// Every replica now knows the window's slots are gone: a refused
	// burst costs no store call.
	calls := store.calls
	if got := takes(t, store, replicas, set, now.Add(999*time.Millisecond), 40, distinct); got != 0 {
		t.Fatalf("%d more pages created in a spent window", got)
	}
	if store.calls != calls {
		t.Errorf("a refused burst cost %d store calls, want 0", store.calls-calls)
	}
	if got := takes(t, store, replicas, set, now.Add(time.Second), 40, distinct); got != 5 {
		t.Errorf("the next window allowed %d pages, want 5", got)
	}
}

func TestCreationBudgetClientShare(t *testing.T) {
	store := &countingSlots{}
	replicas := []*creationBudget{{}, {}, {}, {}}
	set := budgetSet(8)
	now := time.Unix(1_800_000_000, 0)
	one := func(int) string { return "2001:db8::/64" }

	if got := takes(t, store, replicas, set, now, 20, one); got != 2 {
		t.Fatalf("one client created %d pages in a window, want its share, 2", got)
	}
	if got := takes(t, store, replicas, set, now, 20, func(int) string { return "198.51.100.7" }); got != 2 {
		t.Fatalf("a second client created %d pages, want 2", got)
	}
	// Without a client, as behind a proxy, only the set's budget counts.
	if got := takes(t, store, replicas, set, now, 20, func(int) string { return "" }); got != 4 {
		t.Fatalf("requests with no client share created %d pages, want the 4 left", got)
	}
}
