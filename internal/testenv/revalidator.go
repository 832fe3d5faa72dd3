package testenv

import (
	"context"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// Revalidator records the re-render requests a page server sends (it is a
// server.Revalidator) and passes each on to Next when set. After Block,
// each request also waits until the test releases it.
type Revalidator struct {
	// Next gets each request after it is recorded; nil: none.
	Next interface {
		Revalidate(ctx context.Context, page types.NamespacedName, token string) error
	}

	mu    sync.Mutex
	calls map[types.NamespacedName][]string
	n     int
	// entered receives once per request that blocks; release lets them go.
	entered chan struct{}
	release chan struct{}
}

// Revalidate records the request, waits if blocked, and passes it on.
func (r *Revalidator) Revalidate(ctx context.Context, page types.NamespacedName, token string) error {
	r.mu.Lock()
	if r.calls == nil {
		r.calls = map[types.NamespacedName][]string{}
	}
	r.calls[page] = append(r.calls[page], token)
	r.n++
	entered, release := r.entered, r.release
	r.mu.Unlock()
	if release != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
		// Deaf to ctx on purpose: a caller that waited for the request
		// would otherwise be answered once ctx expires.
		<-release
	}
	if r.Next != nil {
		return r.Next.Revalidate(ctx, page, token)
	}
	return nil
}

// Calls is how many requests arrived.
func (r *Revalidator) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Tokens are the tokens asked for page, in order.
func (r *Revalidator) Tokens(page types.NamespacedName) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls[page]...)
}

// Asked is true when some request carried token.
func (r *Revalidator) Asked(token string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, tokens := range r.calls {
		if slices.Contains(tokens, token) {
			return true
		}
	}
	return false
}

// Block makes every later request wait until release is called; entered
// receives once a request is waiting. Call it before the first request.
func (r *Revalidator) Block() (entered <-chan struct{}, release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entered = make(chan struct{}, 1)
	r.release = make(chan struct{})
	return r.entered, sync.OnceFunc(func() { close(r.release) })
}
