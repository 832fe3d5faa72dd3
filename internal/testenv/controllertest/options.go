// Package controllertest holds the manager options the suites outside the
// controllers package run the reconcilers with. (The controllers package's
// own suite cannot import it: it would import the package under test.)
package controllertest

import (
	"time"

	"github.com/isr-operator/isr-operator/controllers"
)

// Options are controllers.DefaultOptions for a suite: origins on 127.0.0.1
// allowed (as a user allows a same-pod origin with --allow-origin), pages
// up to 1 MiB, two redirects, and retries from 100ms up to 1s so failure
// specs see several within a few seconds.
func Options() controllers.Options {
	o := controllers.DefaultOptions()
	o.AllowOrigins = []string{"127.0.0.1"}
	o.MaxBodyBytes = 1 << 20
	o.MaxRedirects = 2
	o.RetryBaseDelay, o.RetryMaxDelay = 100*time.Millisecond, time.Second
	return o
}
