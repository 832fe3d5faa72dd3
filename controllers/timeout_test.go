package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

func TestOriginTimeout(t *testing.T) {
	own := func(d time.Duration) pagesv1alpha1.Origin {
		return pagesv1alpha1.Origin{URL: "http://origin.example/", Timeout: &metav1.Duration{Duration: d}}
	}
	for _, c := range []struct {
		name     string
		origin   pagesv1alpha1.Origin
		def, max time.Duration
		want     time.Duration
	}{
		{"the page's own", own(5 * time.Second), 10 * time.Second, time.Minute, 5 * time.Second},
		{"the default when the page sets none", pagesv1alpha1.Origin{}, 20 * time.Second, time.Minute, 20 * time.Second},
		{"10s with no default", pagesv1alpha1.Origin{}, 0, time.Minute, 10 * time.Second},
		{"the page's own, capped", own(10 * time.Minute), 10 * time.Second, time.Minute, time.Minute},
		{"at the cap", own(time.Minute), 10 * time.Second, time.Minute, time.Minute},
		{"no cap", own(10 * time.Minute), 10 * time.Second, 0, 10 * time.Minute},
	} {
		if got := originTimeout(c.origin, c.def, c.max); got != c.want {
			t.Errorf("%s: originTimeout = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestMaxOriginTimeoutIsChecked(t *testing.T) {
	o := DefaultOptions()
	if o.MaxOriginTimeout != time.Minute {
		t.Errorf("--max-origin-timeout defaults to %s, want 1m", o.MaxOriginTimeout)
	}
	for _, bad := range []time.Duration{-time.Second, o.DefaultOriginTimeout - time.Second} {
		o.MaxOriginTimeout = bad
		if err := o.Validate(); err == nil {
			t.Errorf("--max-origin-timeout=%s with --default-origin-timeout=%s is accepted", bad, o.DefaultOriginTimeout)
		}
	}
	for _, ok := range []time.Duration{0, o.DefaultOriginTimeout, time.Hour} {
		o.MaxOriginTimeout = ok
		if err := o.Validate(); err != nil {
			t.Errorf("--max-origin-timeout=%s: %v", ok, err)
		}
	}
}
