package render

import (
	"slices"
	"sync"
)

// HostLimiter caps the work in flight per key: renders per origin host
// (its name and each address it resolves to), so that many pages due at
// once on one backend do not all hit it together, or renders per namespace,
// so that one namespace's slow origins cannot hold every render worker.
type HostLimiter struct {
	// Max is the cap per key; 0 or less means no cap.
	Max int

	mu       sync.Mutex
	inFlight map[string]int
}

// TryAcquire takes a slot for host without waiting. When the host is at its
// cap it returns false, and the caller comes back later rather than holding
// a worker that pages on other hosts could use. release must be called once.
func (l *HostLimiter) TryAcquire(host string) (release func(), ok bool) {
	return l.TryAcquireAll(host)
}

// TryAcquireAll takes a slot for every key at once, or none: false when any
// of them is at its cap. Keys that repeat count once. release must be
// called once.
func (l *HostLimiter) TryAcquireAll(keys ...string) (release func(), ok bool) {
	if l == nil || l.Max <= 0 {
		return func() {}, true
	}
	held := make([]string, 0, len(keys))
	for _, k := range keys {
		if !slices.Contains(held, k) {
			held = append(held, k)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight == nil {
		l.inFlight = map[string]int{}
	}
	for _, k := range held {
		if l.inFlight[k] >= l.Max {
			return nil, false
		}
	}
	for _, k := range held {
		l.inFlight[k]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			for _, k := range held {
				if l.inFlight[k]--; l.inFlight[k] <= 0 {
					delete(l.inFlight, k)
				}
			}
		})
	}, true
}

// InFlight is the number of renders running for host.
func (l *HostLimiter) InFlight(host string) int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight[host]
}
