package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestErrorReason(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("reading: %w", ErrNotStored), ""},
		{fmt.Errorf("putting: %w", context.Canceled), ""},
		{&storeError{kind: ErrDenied, msg: "refused"}, "denied"},
		{&storeError{kind: ErrNoBucket, msg: "no bucket"}, "no_bucket"},
		{&storeError{kind: ErrUnavailable, msg: "down"}, "unavailable"},
		{fmt.Errorf("page: %w", ErrTooLarge), "too_large"},
		{fmt.Errorf("slot: %w", ErrConflict), "conflict"},
		{fmt.Errorf("body: %w: %w", ErrCorrupt, ErrNotStored), "corrupt"},
		{errors.New("the API server said no"), "error"},
	} {
		if got := ErrorReason(tt.err); got != tt.want {
			t.Errorf("ErrorReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestCountError(t *testing.T) {
	c := errorsTotal.WithLabelValues(OpGet, "unavailable")
	before := testutil.ToFloat64(c)
	CountError(OpGet, &storeError{kind: ErrUnavailable, msg: "down"})
	CountError(OpGet, fmt.Errorf("gone: %w", ErrNotStored))
	CountError(OpGet, nil)
	if got := testutil.ToFloat64(c) - before; got != 1 {
		t.Errorf("%v unavailable errors counted, want 1", got)
	}
}
