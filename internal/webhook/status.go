package webhook

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
)

// StatusBook collects deliveries and writes them to their receivers'
// status at most once per Interval per receiver, so that a flood of
// deliveries (refused ones above all) costs the API server one patch per
// receiver per Interval; it emits at most one Event for refused deliveries
// per receiver per Interval, which never holds a body.
type StatusBook struct {
	// Client reads receivers (from the cache) and patches their status.
	Client client.Client
	// Recorder emits the Events of refused deliveries; nil emits none.
	Recorder events.EventRecorder
	// Interval is how often pending deliveries are written.
	Interval time.Duration
	// Log records failed writes.
	Log logr.Logger

	mu      sync.Mutex
	pending map[types.NamespacedName]*pendingStatus
}

// pendingStatus is what a receiver's status has not been told yet.
type pendingStatus struct {
	accepted, refused int64
	last              pagesv1alpha1.WebhookDelivery
	// refusedLast is the last refused delivery since the last Event.
	refusedLast pagesv1alpha1.WebhookDelivery
	// refusedSince counts refused deliveries since the last Event.
	refusedSince int64
}

// Record notes one delivery to whr.
func (b *StatusBook) Record(whr *pagesv1alpha1.WebhookReceiver, o pagesv1alpha1.WebhookOutcome, pages int, msg string, now time.Time) {
	d := pagesv1alpha1.WebhookDelivery{Time: &metav1.Time{Time: now}, Outcome: o, Message: truncate(msg, 1024)}
	if o == pagesv1alpha1.OutcomeAccepted || o == pagesv1alpha1.OutcomeNoMatch {
		d.PagesMatched = new(int32(min(pages, 1<<30)))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[types.NamespacedName]*pendingStatus{}
	}
	key := client.ObjectKeyFromObject(whr)
	p := b.pending[key]
	if p == nil {
		p = &pendingStatus{}
		b.pending[key] = p
	}
	p.last = d
	if o.Refused() {
		p.refused++
		p.refusedSince++
		p.refusedLast = d
	} else {
		p.accepted++
	}
}

// Start writes pending deliveries every Interval until ctx ends, and once
// more then.
func (b *StatusBook) Start(ctx context.Context) error {
	kube.Periodically(ctx, b.Interval, "writing WebhookReceiver deliveries", func(ctx context.Context) error {
		b.Flush(ctx)
		return nil
	})
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
	defer cancel()
	b.Flush(final)
	return nil
}

// finalFlushTimeout bounds the last write, at shutdown.
const finalFlushTimeout = 5 * time.Second

// Flush writes every pending delivery now; what fails to be written stays
// pending for the next Flush.
func (b *StatusBook) Flush(ctx context.Context) {
	b.mu.Lock()
	pending := b.pending
	b.pending = nil
	b.mu.Unlock()
	for key, p := range pending {
		if err := b.write(ctx, key, p); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			if !apierrors.IsConflict(err) {
				b.Log.Error(err, "writing a WebhookReceiver's deliveries", "receiver", key)
			}
			b.requeue(key, p)
		}
	}
}

// write adds p to the receiver's counters and sets its last delivery,
// with the receiver's resourceVersion as a precondition, so that two
// replicas never overwrite each other's counts.
func (b *StatusBook) write(ctx context.Context, key types.NamespacedName, p *pendingStatus) error {
	whr := &pagesv1alpha1.WebhookReceiver{}
	if err := b.Client.Get(ctx, key, whr); err != nil {
		return err
	}
	before := whr.DeepCopy()
	c := &whr.Status.Counters
	c.Accepted = new(deref(c.Accepted) + p.accepted)
	c.Refused = new(deref(c.Refused) + p.refused)
	whr.Status.LastDelivery = p.last
	if err := b.Client.Status().Patch(ctx, whr, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("patching the status of WebhookReceiver %s: %w", key, err)
	}
	if p.refusedSince > 0 && b.Recorder != nil {
		b.Recorder.Eventf(whr, nil, corev1.EventTypeWarning, pagesv1alpha1.EventDeliveryRefused, "Deliver",
			"refused %d deliveries; the last: %s: %s", p.refusedSince, p.refusedLast.Outcome, p.refusedLast.Message)
	}
	return nil
}

// requeue puts p back, under what arrived meanwhile.
func (b *StatusBook) requeue(key types.NamespacedName, p *pendingStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[types.NamespacedName]*pendingStatus{}
	}
	if now := b.pending[key]; now != nil {
		now.accepted += p.accepted
		now.refused += p.refused
		now.refusedSince += p.refusedSince
		if now.refusedLast.Time == nil {
			now.refusedLast = p.refusedLast
		}
		return
	}
	b.pending[key] = p
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
