package controllers

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/render"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	ready := []metav1.Condition{{Type: pagesv1alpha1.ReadyCondition, Status: metav1.ConditionTrue, Reason: pagesv1alpha1.ReasonRendered}}
	failed := []metav1.Condition{{Type: pagesv1alpha1.ReadyCondition, Status: metav1.ConditionFalse, Reason: pagesv1alpha1.ReasonOriginError}}
	withdrawn := []metav1.Condition{{Type: pagesv1alpha1.ReadyCondition, Status: metav1.ConditionFalse, Reason: pagesv1alpha1.ReasonWithdrawn}}

	page := func(mut func(p *pagesv1alpha1.StaticPage)) *pagesv1alpha1.StaticPage {
		p := &pagesv1alpha1.StaticPage{}
		p.Generation = 2
		p.Spec.Origin.URL = "http://origin.example/42"
		p.Spec.Revalidate = &metav1.Duration{Duration: time.Minute}
		p.Status.ObservedGeneration = 2
		p.Status.RenderedAt = &metav1.Time{Time: now.Add(-10 * time.Second)}
		p.Status.Conditions = ready
		mut(p)
		return p
	}
	tests := []struct {
		name string
		page *pagesv1alpha1.StaticPage
		want Decision
	}{
		{"fresh page waits for the rest of its interval", page(func(*pagesv1alpha1.StaticPage) {}),
			Decision{After: 50 * time.Second}},
		{"interval elapsed", page(func(p *pagesv1alpha1.StaticPage) { p.Status.RenderedAt.Time = now.Add(-time.Minute) }),
			Decision{Render: true, Why: DueInterval}},
		{"long overdue (controller was down)", page(func(p *pagesv1alpha1.StaticPage) { p.Status.RenderedAt.Time = now.Add(-time.Hour) }),
			Decision{Render: true, Why: DueInterval}},
		{"never rendered", page(func(p *pagesv1alpha1.StaticPage) { p.Status.RenderedAt = nil }),
			Decision{Render: true, Why: DueFirstRender}},
		{"spec changed", page(func(p *pagesv1alpha1.StaticPage) { p.Generation = 3 }),
			Decision{Render: true, Why: DueSpecChanged}},
		{"origin changed without a generation (a set's new template)", page(func(p *pagesv1alpha1.StaticPage) {
			p.Status.OriginURL = "http://origin.example/old/42"
		}), Decision{Render: true, Why: DueSpecChanged}},
		{"origin as last rendered", page(func(p *pagesv1alpha1.StaticPage) { p.Status.OriginURL = p.Spec.Origin.URL }),
			Decision{After: 50 * time.Second}},
		{"a set's page with only its settings changed waits for its interval", page(func(p *pagesv1alpha1.StaticPage) {
			p.Generation = 3
			p.Spec.Set.Name = "products"
			p.Status.OriginURL = p.Spec.Origin.URL
		}), Decision{After: 50 * time.Second}},
		{"a set's page never rendered from its origin renders", page(func(p *pagesv1alpha1.StaticPage) {
			p.Generation = 3
			p.Spec.Set.Name = "products"
		}), Decision{Render: true, Why: DueSpecChanged}},
		{"new annotation", page(func(p *pagesv1alpha1.StaticPage) {
			p.Annotations = map[string]string{pagesv1alpha1.RevalidateAnnotation: "2"}
			p.Status.LastHandledRevalidate = "1"
		}), Decision{Render: true, Why: DueRequested}},
		{"annotation already handled", page(func(p *pagesv1alpha1.StaticPage) {
			p.Annotations = map[string]string{pagesv1alpha1.RevalidateAnnotation: "1"}
			p.Status.LastHandledRevalidate = "1"
		}), Decision{After: 50 * time.Second}},
		{"last render failed", page(func(p *pagesv1alpha1.StaticPage) { p.Status.Conditions = failed }),
			Decision{Render: true, Why: DueRetry}},
		{"withdrawn page waits for its interval", page(func(p *pagesv1alpha1.StaticPage) { p.Status.Conditions = withdrawn }),
			Decision{After: 50 * time.Second}},
		{"on demand only", page(func(p *pagesv1alpha1.StaticPage) { p.Spec.Revalidate = nil }),
			Decision{}},
		{"OnRequest pages are never due by time", page(func(p *pagesv1alpha1.StaticPage) {
			p.Spec.RevalidateMode = pagesv1alpha1.RevalidateOnRequest
			p.Status.RenderedAt.Time = now.Add(-time.Hour)
		}), Decision{}},
		{"suspended ignores everything", page(func(p *pagesv1alpha1.StaticPage) {
			p.Spec.Suspend = new(true)
			p.Generation = 3
			p.Annotations = map[string]string{pagesv1alpha1.RevalidateAnnotation: "x"}
			p.Status.RenderedAt.Time = now.Add(-time.Hour)
		}), Decision{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.page, now); got != tt.want {
				t.Errorf("Decide() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNextAfterRender(t *testing.T) {
	p := &pagesv1alpha1.StaticPage{}
	p.Spec.Revalidate = &metav1.Duration{Duration: 10 * time.Second}
	at := time.Date(2026, 11, 24, 12, 0, 0, 900_000_000, time.UTC)
	// Measured from the second the status records, never later than the interval.
	if got := NextAfterRender(p, at, at); got != 10*time.Second-900*time.Millisecond {
		t.Errorf("NextAfterRender = %v", got)
	}
	if got := NextAfterRender(p, at, at.Add(time.Minute)); got != time.Millisecond {
		t.Errorf("overdue NextAfterRender = %v, want 1ms", got)
	}
	p.Spec.RevalidateMode = pagesv1alpha1.RevalidateOnRequest
	if got := NextAfterRender(p, at, at); got != 0 {
		t.Errorf("OnRequest NextAfterRender = %v, want 0", got)
	}
}

func TestOriginHost(t *testing.T) {
	tests := []struct{ url, want string }{
		{"http://shop.shop.svc/products/42", "shop.shop.svc"},
		{"http://Shop.Shop.SVC:80/", "shop.shop.svc"},
		{"https://cms.example.com/a", "cms.example.com"},
		{"HTTPS://cms.example.com:8443/a", "cms.example.com"},
		{"http://127.0.0.1:8088/", "127.0.0.1"},
		{"http://[::1]/", "::1"},
	}
	for _, tt := range tests {
		p := &pagesv1alpha1.StaticPage{Spec: pagesv1alpha1.StaticPageSpec{Origin: pagesv1alpha1.Origin{URL: tt.url}}}
		if got := originHost(p); got != tt.want {
			t.Errorf("originHost(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// TestOriginHostKeys: the per-host cap counts a render by the origin's name
// and every address it resolves to, so that two names of one server, or
// one written as an address, share the cap.
func TestOriginHostKeys(t *testing.T) {
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	tests := []struct {
		host  string
		addrs []netip.Addr
		want  []string
	}{
		{"shop.svc", addrs("10.0.0.7"), []string{"shop.svc", "10.0.0.7"}},
		{"localhost", addrs("127.0.0.1", "::1"), []string{"localhost", "127.0.0.1", "::1"}},
		{"127.0.0.1", addrs("127.0.0.1"), []string{"127.0.0.1", "127.0.0.1"}},
		{"::ffff:127.0.0.1", addrs("::ffff:127.0.0.1"), []string{"127.0.0.1", "127.0.0.1"}},
		{"does-not-resolve.invalid", nil, []string{"does-not-resolve.invalid"}},
	}
	for _, tt := range tests {
		if got := originHostKeys(tt.host, tt.addrs); !slices.Equal(got, tt.want) {
			t.Errorf("originHostKeys(%q, %v) = %v, want %v", tt.host, tt.addrs, got, tt.want)
		}
	}
	// An address and a name for it, on other ports, share one slot.
	l := &render.HostLimiter{Max: 1}
	release, ok := l.TryAcquireAll(originHostKeys("127.0.0.1", addrs("127.0.0.1"))...)
	if !ok {
		t.Fatal("the first render of 127.0.0.1 was put off")
	}
	if _, ok := l.TryAcquireAll(originHostKeys("localhost", addrs("127.0.0.1", "::1"))...); ok {
		t.Error("localhost rendered while 127.0.0.1, which it resolves to, was at its cap")
	}
	release()
	if _, ok := l.TryAcquireAll(originHostKeys("localhost", addrs("127.0.0.1", "::1"))...); !ok {
		t.Error("localhost was put off once 127.0.0.1 had room")
	}
}
