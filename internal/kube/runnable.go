package kube

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// EveryReplica is a manager runnable that runs on every replica, not only
// on the elected leader: serving, loading the route table, sweeping what
// each replica shares.
type EveryReplica func(ctx context.Context) error

// Start runs f.
func (f EveryReplica) Start(ctx context.Context) error { return f(ctx) }

// NeedLeaderElection is false: every replica runs it.
func (f EveryReplica) NeedLeaderElection() bool { return false }

var _ manager.LeaderElectionRunnable = EveryReplica(nil)

// Periodically calls f every interval until ctx ends, logging its errors as
// what failed; a failed round waits for the next one.
func Periodically(ctx context.Context, every time.Duration, what string, f func(context.Context) error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f(ctx); err != nil {
				log.FromContext(ctx).Error(err, what)
			}
		}
	}
}
