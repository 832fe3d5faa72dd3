package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/isr-operator/isr-operator/internal/kube"
)

type httpRequest = http.Request

func controllerOptions() controller.TypedOptions[reconcile.Request] {
	f := false
	return controller.TypedOptions[reconcile.Request]{MaxConcurrentReconciles: 2, NeedLeaderElection: &f}
}

// Shutdown coordinates a server's stop so that no visitor's request is
// dropped while endpoints, kube-proxy and ingress controllers catch up with
// a terminating pod, which takes them a few seconds after SIGTERM:
//  1. at once, Ready fails, so the pod leaves the Service's endpoints;
//  2. for Delay, every listener keeps accepting and serving new connections
//     as usual, answering with `Connection: close` so that keep-alive
//     clients reconnect to another pod;
//  3. then the listeners stop accepting and in-flight requests, and
//     background work such as revalidation requests, get up to Grace.
type Shutdown struct {
	// Delay is how long the listeners keep serving after the stop signal.
	Delay time.Duration
	// Grace bounds the drain of in-flight requests after Delay.
	Grace time.Duration
	// Log says when each phase starts.
	Log logr.Logger

	draining atomic.Bool
	started  atomic.Bool
}

// Ready is a readiness check that fails from the stop signal on.
func (s *Shutdown) Ready(_ *http.Request) error {
	if s.draining.Load() {
		return errors.New("shutting down")
	}
	return nil
}

// Draining is true from the stop signal on.
func (s *Shutdown) Draining() bool { return s.draining.Load() }

// begin enters phase 1 once, however many listeners see the signal, and
// returns when phase 2 is over.
func (s *Shutdown) begin() {
	if s.started.CompareAndSwap(false, true) {
		s.Log.Info("stop signal: not ready; still serving, with Connection: close", "delay", s.Delay.String(), "grace", s.Grace.String())
	}
	s.draining.Store(true)
	time.Sleep(s.Delay)
}

// closeWhenDraining asks clients to reconnect elsewhere once draining.
func (s *Shutdown) closeWhenDraining(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// Listener serves h on addr until the manager stops, then shuts down in the
// phases of s. wait, if set, is background work to let finish in the grace
// period (it must return when its context ends).
func (s *Shutdown) Listener(addr string, h http.Handler, wait func(context.Context)) manager.Runnable {
	return kube.EveryReplica(func(ctx context.Context) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", addr, err)
		}
		srv := &http.Server{
			Handler:           s.closeWhenDraining(h),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
		}
		s.begin()
		sctx, cancel := context.WithTimeout(context.Background(), s.Grace)
		defer cancel()
		err = srv.Shutdown(sctx)
		if wait != nil {
			wait(sctx)
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	})
}
