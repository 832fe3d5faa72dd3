package render

import "sync"

// HostLimiter caps the renders in flight per origin host, so that many pages
// due at once on one backend do not all hit it together.
type HostLimiter struct {
	// Max is the cap per host; 0 or less means no cap.
	Max int

	mu       sync.Mutex
	inFlight map[string]int
}

// TryAcquire takes a slot for host without waiting. When the host is at its
// cap it returns false, and the caller comes back later rather than holding
// a worker that pages on other hosts could use. release must be called once.
func (l *HostLimiter) TryAcquire(host string) (release func(), ok bool) {
	if l == nil || l.Max <= 0 {
		return func() {}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight == nil {
		l.inFlight = map[string]int{}
	}
	if l.inFlight[host] >= l.Max {
		return nil, false
	}
	l.inFlight[host]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.inFlight[host]--; l.inFlight[host] <= 0 {
				delete(l.inFlight, host)
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
