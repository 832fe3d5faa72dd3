package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// SlotStore claims keys once across every server replica: of all the
// replicas that claim one key, one wins. The revalidate API's Lease store
// (revalidateapi.LeaseReplays) is one.
type SlotStore interface {
	// TryClaim records key as taken until expires. It reports false, with
	// no error, when key was claimed before.
	TryClaim(ctx context.Context, key string, expires time.Time) (bool, error)
}

// creationSlotGrace is how long a creation slot's record outlives its
// window: a replica whose clock lags the others' by less still finds the
// window's slots taken.
const creationSlotGrace = 5 * time.Second

// ClientShare is the part of a set's creation budget that one client
// address may take in a window: at most ceil(maxCreationRate / ClientShare)
// pages, so that at least ClientShare clients are needed to use it all.
const ClientShare = 4

// clientSlots is how many of a window's creations one client address may
// take of a budget of rate per window.
func clientSlots(rate int32) int32 {
	return (rate + ClientShare - 1) / ClientShare
}

// creationBudget is one set's creation budget across every replica: each
// one-second window (of the replicas' clocks, which must agree to within
// creationSlotGrace) has maxCreationRate set slots and, for each client
// address, clientSlots client slots. Creating a page takes one of each
// from the SlotStore, a client slot first, so that a client past its
// share uses no set slot. A slot is never given back, even when the
// create then fails or finds the page made: the budget only errs towards
// fewer pages. Slots are claimed in order, and the budget remembers which
// of the window's slots it knows to be taken, so a refused burst costs no
// store call once the window's slots are known to be gone.
//
// This counts exactly, which a shared token bucket could not without a
// read-modify-write of one object per create: a slot's key names its
// window, so a slot is one create of an object that cannot exist twice.
type creationBudget struct {
	mu sync.Mutex
	// window is the Unix second next and clients are of.
	window int64
	// next is the first set slot of window not known to be taken.
	next int32
	// clients holds, for each client address, its first client slot of
	// window not known to be taken.
	clients map[string]int32
}

// take claims, for one create of set's page asked for by client (its
// address, as clientAddrKey gives it), a client slot and a set slot of the
// window now falls in. It reports false when either is gone. With client
// "" it claims a set slot only: no share per client.
func (b *creationBudget) take(ctx context.Context, store SlotStore, set *pagesv1alpha1.StaticPageSet, client string, now time.Time) (bool, error) {
	window := now.Unix()
	rate := set.CreationRate()
	expires := time.Unix(window+1, 0).Add(creationSlotGrace)
	if b.exhausted(window, rate) {
		return false, nil
	}
	if client != "" {
		ok, err := b.claim(ctx, store, window, client, clientSlots(rate), expires,
			func(k int32) string { return fmt.Sprintf("creation/%s/%d/client/%s/%d", set.UID, window, client, k) })
		if !ok || err != nil {
			return false, err
		}
	}
	return b.claim(ctx, store, window, "", rate, expires,
		func(k int32) string { return fmt.Sprintf("creation/%s/%d/set/%d", set.UID, window, k) })
}

// exhausted moves the budget's memory on to window, and reports whether
// every set slot of it is known to be taken.
func (b *creationBudget) exhausted(window int64, rate int32) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.window != window {
		b.window, b.next, b.clients = window, 0, nil
	}
	return b.next >= rate
}

// reserve picks the next slot of window not known to be taken, below
// limit: a client slot of client, or a set slot when client is "". It
// counts the slot as taken, whoever wins it.
func (b *creationBudget) reserve(window int64, client string, limit int32) (int32, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.window != window {
		// The window passed while claiming: so did its slots.
		return 0, false
	}
	next := &b.next
	if client != "" {
		if b.clients == nil {
			b.clients = map[string]int32{}
		}
		n := b.clients[client]
		next = &n
		defer func() { b.clients[client] = n }()
	}
	k := *next
	if k >= limit {
		return 0, false
	}
	*next = k + 1
	return k, true
}

// claim claims the first free slot of window below limit, a client slot
// of client or a set slot when client is "", named by key.
func (b *creationBudget) claim(ctx context.Context, store SlotStore, window int64, client string, limit int32, expires time.Time,
	key func(int32) string) (bool, error) {
	for {
		k, ok := b.reserve(window, client, limit)
		if !ok {
			return false, nil
		}
		won, err := store.TryClaim(ctx, key(k), expires)
		if err != nil {
			return false, fmt.Errorf("claiming creation slot %s: %w", key(k), err)
		}
		if won {
			return true, nil
		}
	}
}
