package server

import "time"

// RequestedAt is when e's page was last recorded served (its requested-at
// annotation, as the entry read it); zero for a page no request caused or
// one never recorded.
func RequestedAt(e *Entry) time.Time {
	if e == nil || e.request == nil {
		return time.Time{}
	}
	return e.request.at
}
