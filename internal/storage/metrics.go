package storage

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Operations on a store, the operation label of isr_storage_errors_total.
const (
	// OpPut: the manager publishing a page.
	OpPut = "put"
	// OpWithdraw: the manager dropping a withdrawn page.
	OpWithdraw = "withdraw"
	// OpHas: the manager checking that stored content is still there.
	OpHas = "has"
	// OpGet: a server loading a page.
	OpGet = "get"
)

// errorsTotal counts failed store operations by what went wrong; the
// manager and the server each export their own.
var errorsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "isr_storage_errors_total",
	Help: "Failed storage operations, by operation (put, withdraw, has, get) and reason (unavailable, denied, no_bucket, too_large, conflict, corrupt, error).",
}, []string{"operation", "reason"})

func init() {
	ctrlmetrics.Registry.MustRegister(errorsTotal)
}

// ErrorReason is the reason label of isr_storage_errors_total for err, or
// "" for what is no failure of the store: nil, ErrNotStored (content gone,
// published again) and a caller that gave up. Content that does not match
// its digest is a failure (corrupt), though it also wraps ErrNotStored.
func ErrorReason(err error) string {
	switch {
	case errors.Is(err, ErrCorrupt):
		return "corrupt"
	case err == nil, errors.Is(err, ErrNotStored), errors.Is(err, context.Canceled):
		return ""
	case errors.Is(err, ErrDenied):
		return "denied"
	case errors.Is(err, ErrNoBucket):
		return "no_bucket"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrConflict):
		return "conflict"
	}
	return "error"
}

// CountError adds err, the outcome of operation op, to
// isr_storage_errors_total when it is a failure of the store.
func CountError(op string, err error) {
	if reason := ErrorReason(err); reason != "" {
		errorsTotal.WithLabelValues(op, reason).Inc()
	}
}
