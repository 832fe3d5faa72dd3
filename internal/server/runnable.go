package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

type httpRequest = http.Request

// noLeader is a manager runnable that runs on every replica.
type noLeader func(ctx context.Context) error

func (f noLeader) Start(ctx context.Context) error { return f(ctx) }
func (f noLeader) NeedLeaderElection() bool        { return false }

var _ manager.LeaderElectionRunnable = noLeader(nil)

func controllerOptions() controller.TypedOptions[reconcile.Request] {
	f := false
	return controller.TypedOptions[reconcile.Request]{MaxConcurrentReconciles: 2, NeedLeaderElection: &f}
}

// Listener serves h on addr until the manager stops, then drains in-flight
// requests for up to grace.
func Listener(addr string, h http.Handler, grace time.Duration) manager.Runnable {
	return noLeader(func(ctx context.Context) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", addr, err)
		}
		srv := &http.Server{
			Handler:           h,
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
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	})
}
