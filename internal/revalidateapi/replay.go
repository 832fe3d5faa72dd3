package revalidateapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/isr-operator/isr-operator/internal/kube"
)

// ReplayStore records used signatures and delivery ids so that a signed
// call, or a webhook delivery, is accepted once.
type ReplayStore interface {
	// Claim records key as used until expires (after which the timestamp
	// check refuses its call anyway), or fails with ErrReplay if it was
	// claimed before.
	Claim(ctx context.Context, key string, expires time.Time) error
}

// Labels and names of the Leases that record used signatures.
const (
	// SignatureLabel marks signature Leases, so that the sweep lists only
	// them and the server's admission policy lets it write only them.
	SignatureLabel = "isr-operator.io/component"
	// SignatureLabelValue is SignatureLabel's value on signature Leases.
	SignatureLabelValue = "revalidate-signature"
	// SignatureLeasePrefix starts every signature Lease's name.
	SignatureLeasePrefix = "isr-sig-"
	// signatureHolder is the holderIdentity of signature Leases.
	signatureHolder = "isr-operator-revalidate-api"
)

// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=create;list;delete,namespace=isr-system

// LeaseReplays records each accepted signature as a Lease in one namespace
// (the credentials Secret's). Creating an object is atomic on the API
// server, so of all the replicas serving the API, and across restarts, one
// call with a given signature wins and every replay is refused.
type LeaseReplays struct {
	// Client creates and deletes the Leases.
	Client client.Client
	// Reader lists the Leases for the sweep. It must read the API server
	// directly (a manager's GetAPIReader), never a cache: a cached list
	// starts a Lease informer that the server's RBAC (list, no watch, in
	// one namespace) cannot sync, so the list would wait forever. Nil
	// means Client, for tests on a fake client.
	Reader client.Reader
	// Namespace holds the Leases.
	Namespace string
	// Clock is the time source of the sweep.
	Clock clock.PassiveClock
	// Timeout bounds one sweep in Start; 0 means the sweep interval, so
	// that a sweep never runs into the next.
	Timeout time.Duration
}

// LeaseName is the Lease recording key: a digest of it, so that any key
// makes a valid name. A signed call's key is its decoded MAC, so every
// spelling of one signature maps to one name.
func LeaseName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return SignatureLeasePrefix + hex.EncodeToString(sum[:20])
}

// Claim creates key's Lease; AlreadyExists means a replay.
func (l *LeaseReplays) Claim(ctx context.Context, key string, expires time.Time) error {
	now := l.Clock.Now()
	ttl := int32(max(1, expires.Sub(now).Round(time.Second)/time.Second))
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: l.Namespace,
			Name:      LeaseName(key),
			Labels:    map[string]string{SignatureLabel: SignatureLabelValue},
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       new(signatureHolder),
			AcquireTime:          &metav1.MicroTime{Time: now},
			RenewTime:            &metav1.MicroTime{Time: expires},
			LeaseDurationSeconds: &ttl,
		},
	}
	err := l.Client.Create(ctx, lease)
	switch {
	case apierrors.IsAlreadyExists(err):
		return ErrReplay
	case err != nil:
		return fmt.Errorf("recording the signature as Lease %s/%s: %w", l.Namespace, lease.Name, err)
	}
	return nil
}

// TryClaim is Claim for a key that is no signature, such as a server's
// creation slot: it reports false, with no error, when key was claimed
// before. Its Lease is swept as a signature's, once expires has passed.
func (l *LeaseReplays) TryClaim(ctx context.Context, key string, expires time.Time) (bool, error) {
	switch err := l.Claim(ctx, key, expires); {
	case errors.Is(err, ErrReplay):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// Sweep deletes the Leases of signatures whose window has passed: they
// can no longer be replayed, as the timestamp check refuses them.
func (l *LeaseReplays) Sweep(ctx context.Context) error {
	reader := l.Reader
	if reader == nil {
		reader = l.Client
	}
	list := &coordinationv1.LeaseList{}
	if err := reader.List(ctx, list, client.InNamespace(l.Namespace),
		client.MatchingLabels{SignatureLabel: SignatureLabelValue}); err != nil {
		return fmt.Errorf("listing signature Leases: %w", err)
	}
	now := l.Clock.Now()
	for i := range list.Items {
		lease := &list.Items[i]
		if lease.Spec.RenewTime == nil || !lease.Spec.RenewTime.Time.Before(now) {
			continue
		}
		if err := l.Client.Delete(ctx, lease); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting signature Lease %s: %w", lease.Name, err)
		}
	}
	return nil
}

// Start sweeps every interval until ctx ends, each sweep within Timeout;
// every replica sweeps, and a Lease another replica deleted first is no
// error.
func (l *LeaseReplays) Start(ctx context.Context, every time.Duration) {
	kube.Periodically(ctx, every, "sweeping used signatures", func(ctx context.Context) error {
		return l.sweepWithin(ctx, every)
	})
}

// sweepWithin runs one Sweep bounded by Timeout, or by every when Timeout
// is 0.
func (l *LeaseReplays) sweepWithin(ctx context.Context, every time.Duration) error {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = every
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return l.Sweep(ctx)
}

// MemoryReplays records used keys in this process only: for tests and
// single-process tools, never for a served API with replicas.
type MemoryReplays struct {
	// Clock is the time source of expiry; nil means the real clock.
	Clock clock.PassiveClock

	mu   sync.Mutex
	seen map[string]time.Time
}

// Claim records key until expires.
func (m *MemoryReplays) Claim(_ context.Context, key string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	var now time.Time
	if m.Clock != nil {
		now = m.Clock.Now()
	} else {
		now = time.Now()
	}
	for k, exp := range m.seen {
		if exp.Before(now) {
			delete(m.seen, k)
		}
	}
	if _, ok := m.seen[key]; ok {
		return ErrReplay
	}
	m.seen[key] = expires
	return nil
}
