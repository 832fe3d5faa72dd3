package server

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/isr-operator/isr-operator/internal/kube"
)

// AnnotationRevalidator asks for re-renders by setting the StaticPage's
// revalidate annotation, the same thing `kubectl annotate` does.
type AnnotationRevalidator struct {
	// Client patches StaticPages.
	Client kube.Patcher

	inFlight sync.WaitGroup
}

// Revalidate implements Revalidator with kube.AnnotateRevalidate.
func (a *AnnotationRevalidator) Revalidate(ctx context.Context, page types.NamespacedName, token string) error {
	a.inFlight.Add(1)
	defer a.inFlight.Done()
	_, err := kube.AnnotateRevalidate(ctx, a.Client, page, token)
	return err
}

// Wait returns once no revalidation request is in flight, or ctx ends; a nil
// revalidator has none.
func (a *AnnotationRevalidator) Wait(ctx context.Context) {
	if a == nil {
		return
	}
	done := make(chan struct{})
	go func() { a.inFlight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
