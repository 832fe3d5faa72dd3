package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/kube"
)

// testFallback is a Fallback on a fake API with one serving set for
// /p/{id}; creates counts the StaticPages it created.
func testFallback(t *testing.T, timeout time.Duration) (f *Fallback, c client.Client, creates *atomic.Int32) {
	t.Helper()
	creates = &atomic.Int32{}
	c = fake.NewClientBuilder().WithScheme(kube.Scheme()).WithInterceptorFuncs(interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			creates.Add(1)
			return c.Create(ctx, obj, opts...)
		},
	}).Build()
	sets := NewSets()
	if err := sets.Put(testSet("a", "/p/{id}", metav1.ConditionTrue, pagesv1alpha1.ReasonServing), true); err != nil {
		t.Fatal(err)
	}
	f = &Fallback{Client: c, Sets: sets, Table: NewTable(), Timeout: timeout, Clock: clocktesting.NewFakeClock(t0), Log: logr.Discard()}
	return f, c, creates
}

// resolveAll sends n concurrent requests for path and returns their
// outcomes once each has one.
func resolveAll(f *Fallback, path string, n int) <-chan outcome {
	outs := make(chan outcome, n)
	for range n {
		go func() {
			out, _ := f.resolve(httptest.NewRequest(http.MethodGet, "http://x"+path, nil))
			outs <- out
		}()
	}
	return outs
}

// waiting reports whether the page is being waited for.
func waiting(f *Fallback, name types.NamespacedName) func() bool {
	return func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.waits[name] != nil
	}
}

// created reads the page once it was created.
func created(t *testing.T, c client.Client, name types.NamespacedName) *pagesv1alpha1.StaticPage {
	t.Helper()
	page := &pagesv1alpha1.StaticPage{}
	waitFor(t, func() bool { return c.Get(context.Background(), name, page) == nil })
	return page
}

func TestFallbackCreatesOnceAndWakesEveryWaiter(t *testing.T) {
	f, c, creates := testFallback(t, time.Minute)
	name := types.NamespacedName{Namespace: "default", Name: pagesv1alpha1.ChildName("a", "/p/1")}
	outs := resolveAll(f, "/p/1", 20)
	waitFor(t, waiting(f, name))

	// The page appears, as the manager renders it, and the route sync
	// loads it: the waiters are woken by the notice, not by polling.
	page := created(t, c, name)
	p, obj := testPage(name.Name, "", "/p/1", "<h1>1</h1>", 0, pagesv1alpha1.RevalidateInterval)
	p.Namespace = "default"
	f.Table.Put(mustEntry(t, p, obj))
	f.notify(name)
	for range 20 {
		if out := <-outs; out.decision != decServe || out.entry == nil {
			t.Fatalf("outcome %v, want the page", decisionResult[out.decision])
		}
	}
	if n := creates.Load(); n != 1 {
		t.Errorf("%d creates for 20 requests, want 1", n)
	}
	want := pagesv1alpha1.RequestedChild(f.Sets.all[types.NamespacedName{Namespace: "default", Name: "a"}].set, "/p/1")
	if page.Spec.Route != want.Spec.Route || page.Spec.Set.Name == "" || page.Spec.Origin.URL != "" ||
		page.Labels[pagesv1alpha1.CreatedByLabel] != pagesv1alpha1.CreatedByRequest || len(page.OwnerReferences) != 1 {
		t.Errorf("created %+v", page)
	}
}

func TestFallbackFailureSeenBeforeTheDelete(t *testing.T) {
	f, c, _ := testFallback(t, time.Minute)
	name := types.NamespacedName{Namespace: "default", Name: pagesv1alpha1.ChildName("a", "/p/2")}
	// One request: more could join after the wait ended (on a slow
	// machine) and start a wait of their own, which no event ends.
	outs := resolveAll(f, "/p/2", 1)
	waitFor(t, waiting(f, name))
	page := created(t, c, name)
	// The manager's failed render, which it deletes at once, and which the
	// route sync's queue may fold into that delete: the informer's event
	// is remembered, whatever the cache holds when the wait looks.
	failed := page.DeepCopy()
	failed.Status.Conditions = []metav1.Condition{{Type: pagesv1alpha1.ReadyCondition, Status: metav1.ConditionFalse, Reason: pagesv1alpha1.ReasonOriginError}}
	f.observe(name, failed)
	if out := <-outs; out.decision != decFailed {
		t.Fatalf("outcome %v, want failed", decisionResult[out.decision])
	}
}

func TestFallbackTimeoutAndCanceledRequests(t *testing.T) {
	f, _, creates := testFallback(t, 50*time.Millisecond)
	out, matched := f.resolve(httptest.NewRequest(http.MethodGet, "http://x/p/3", nil))
	if !matched || out.decision != decTimeout {
		t.Errorf("outcome %v, %v; want timeout", decisionResult[out.decision], matched)
	}

	// A request that ends stops its own wait only.
	f.Timeout = time.Minute
	name := types.NamespacedName{Namespace: "default", Name: pagesv1alpha1.ChildName("a", "/p/4")}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var canceled outcome
	wg.Go(func() {
		canceled, _ = f.resolve(httptest.NewRequest(http.MethodGet, "http://x/p/4", nil).WithContext(ctx))
	})
	waitFor(t, waiting(f, name))
	other := resolveAll(f, "/p/4", 1)
	cancel()
	wg.Wait()
	if canceled.decision != decCanceled {
		t.Errorf("canceled request: %v", decisionResult[canceled.decision])
	}
	p, obj := testPage(name.Name, "", "/p/4", "<h1>4</h1>", 0, pagesv1alpha1.RevalidateInterval)
	p.Namespace = "default"
	f.Table.Put(mustEntry(t, p, obj))
	f.notify(name)
	if out := <-other; out.decision != decServe {
		t.Errorf("the other request: %v, want the page", decisionResult[out.decision])
	}
	if n := creates.Load(); n != 2 {
		t.Errorf("%d creates, want one per path", n)
	}
}

func TestFallbackUnmatchedPaths(t *testing.T) {
	f, _, creates := testFallback(t, time.Minute)
	for _, path := range []string{"/q/1", "/p/..", "/p/a%2Fb", "/p/a%00", "/p/1/2"} {
		if _, matched := f.resolve(httptest.NewRequest(http.MethodGet, "http://x"+path, nil)); matched {
			t.Errorf("%s matched the set", path)
		}
	}
	if n := creates.Load(); n != 0 {
		t.Errorf("%d creates", n)
	}
}
