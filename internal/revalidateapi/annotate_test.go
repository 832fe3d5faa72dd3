package revalidateapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
)

// concurrentPatcher counts the patches in flight. Each patch waits until
// annotateConcurrency are in flight together (or, if they never are, a
// second), so that a handler annotating one page at a time shows up as a
// peak of 1.
type concurrentPatcher struct {
	kube.Patcher
	mu       sync.Mutex
	inFlight int
	peak     int
	full     chan struct{}
	fullOnce sync.Once
}

func (p *concurrentPatcher) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	p.mu.Lock()
	p.inFlight++
	p.peak = max(p.peak, p.inFlight)
	if p.inFlight == annotateConcurrency {
		p.fullOnce.Do(func() { close(p.full) })
	}
	p.mu.Unlock()
	select {
	case <-p.full:
	case <-time.After(time.Second):
	}
	p.mu.Lock()
	p.inFlight--
	p.mu.Unlock()
	return p.Patcher.Patch(ctx, obj, patch, opts...)
}

// TestManyPagesAreAnnotatedConcurrently: a call naming many pages
// annotates annotateConcurrency of them at once, never more, and every
// one of them.
func TestManyPagesAreAnnotatedConcurrently(t *testing.T) {
	const pages = 3 * annotateConcurrency
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "revalidate-credentials"},
		Data:       map[string][]byte{TokenKey: []byte("s3cret")},
	}
	objs := []client.Object{secret}
	for i := range pages {
		objs = append(objs, &pagesv1alpha1.StaticPage{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("sale-%d", i), Labels: map[string]string{"sale": "true"}},
			Spec:       pagesv1alpha1.StaticPageSpec{Route: fmt.Sprintf("/sale/%d", i), Origin: pagesv1alpha1.Origin{URL: "http://origin.invalid/"}},
		})
	}
	c := fake.NewClientBuilder().WithScheme(kube.Scheme()).WithObjects(objs...).Build()
	patcher := &concurrentPatcher{Patcher: c, full: make(chan struct{})}
	h := &Handler{
		Reader:       c,
		Writer:       patcher,
		Serving:      stillServing{},
		Secret:       client.ObjectKeyFromObject(secret),
		MaxBodyBytes: 4096,
		Clock:        clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0)),
		Log:          logr.Discard(),
	}
	req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{"selector": "sale=true"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer s3cret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if patcher.peak != annotateConcurrency {
		t.Errorf("at most %d patches were in flight at once, want %d", patcher.peak, annotateConcurrency)
	}
	list := &pagesv1alpha1.StaticPageList{}
	if err := c.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	annotated := 0
	for _, p := range list.Items {
		if strings.HasPrefix(p.Annotations[pagesv1alpha1.RevalidateAnnotation], "api-") {
			annotated++
		}
	}
	if annotated != pages {
		t.Errorf("%d of %d pages annotated", annotated, pages)
	}
}
