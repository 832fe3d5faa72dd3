package controllers

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

func TestMeasureFreshness(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	page := func(ns, set string, interval, age time.Duration, mut ...func(*pagesv1alpha1.StaticPage)) pagesv1alpha1.StaticPage {
		p := pagesv1alpha1.StaticPage{}
		p.Namespace = ns
		p.Spec.Set.Name = set
		if interval > 0 {
			p.Spec.Revalidate = &metav1.Duration{Duration: interval}
		}
		p.CreationTimestamp = metav1.NewTime(now.Add(-24 * time.Hour))
		p.Status.RenderedAt = &metav1.Time{Time: now.Add(-age)}
		p.Status.Conditions = []metav1.Condition{{Type: pagesv1alpha1.ReadyCondition, Status: metav1.ConditionTrue, Reason: pagesv1alpha1.ReasonRendered}}
		for _, m := range mut {
			m(&p)
		}
		return p
	}
	failing := func(p *pagesv1alpha1.StaticPage) {
		p.Status.Conditions[0].Status, p.Status.Conditions[0].Reason = metav1.ConditionFalse, pagesv1alpha1.ReasonOriginError
	}
	onRequest := func(p *pagesv1alpha1.StaticPage) { p.Spec.RevalidateMode = pagesv1alpha1.RevalidateOnRequest }
	suspended := func(p *pagesv1alpha1.StaticPage) { p.Spec.Suspend = new(true) }
	fresh := func(p *pagesv1alpha1.StaticPage) {
		p.Status = pagesv1alpha1.StaticPageStatus{}
		p.CreationTimestamp = metav1.NewTime(now.Add(-30 * time.Second))
	}
	neverRendered := func(p *pagesv1alpha1.StaticPage) { p.Status = pagesv1alpha1.StaticPageStatus{} }

	f := measureFreshness([]pagesv1alpha1.StaticPage{
		page("shop", "", time.Minute, 10*time.Second),
		page("shop", "", time.Minute, 90*time.Second, failing),
		page("shop", "", time.Minute, 5*time.Minute, failing),
		page("shop", "", 0, 48*time.Hour),
		page("shop", "products", time.Minute, 3*time.Minute, onRequest),
		page("shop", "products", time.Minute, time.Hour, suspended),
		page("shop", "products", time.Minute, 0, fresh),
		page("blog", "", time.Hour, 0, neverRendered),
	}, now)

	type g = freshnessGroup
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"pages", f.Pages, map[g]int{{"shop", "", ""}: 4, {"shop", "products", ""}: 3, {"blog", "", ""}: 1}},
		{"stale", f.Stale, map[g]int{
			{"shop", "", "Interval"}: 2, {"shop", "products", "OnRequest"}: 1,
			{"shop", "products", "Interval"}: 0, {"blog", "", "Interval"}: 1,
		}},
		{"overdue", f.Overdue, map[g]int{
			{"shop", "", "Interval"}: 1, {"shop", "products", "OnRequest"}: 1,
			{"shop", "products", "Interval"}: 0, {"blog", "", "Interval"}: 1,
		}},
		{"oldest", f.OldestAge, map[g]time.Duration{
			{"shop", "", "Interval"}: 5 * time.Minute, {"shop", "products", "OnRequest"}: 3 * time.Minute,
			{"shop", "products", "Interval"}: 30 * time.Second, {"blog", "", "Interval"}: 24 * time.Hour,
		}},
		{"not ready", f.NotReady, map[g]int{
			{"shop", "", pagesv1alpha1.ReasonOriginError}: 2, {"shop", "products", ReasonNone}: 1, {"blog", "", ReasonNone}: 1,
		}},
	} {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// gather is what c exports, one "name{labels} value" line per series,
// of the series whose line holds filter.
func gather(c prometheus.Collector, filter string) string {
	GinkgoHelper()
	reg := prometheus.NewPedanticRegistry()
	Expect(reg.Register(c)).To(Succeed())
	families, err := reg.Gather()
	Expect(err).NotTo(HaveOccurred())
	var out strings.Builder
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			line := fmt.Sprintf("%s{%s} %g\n", f.GetName(), strings.Join(labels, ","), m.GetGauge().GetValue())
			if strings.Contains(line, filter) {
				out.WriteString(line)
			}
		}
	}
	return out.String()
}

var _ = Describe("The freshness metrics", func() {
	It("count a StaticPage the controller cannot render as overdue and not Ready, under its namespace and set", func() {
		set := uniqueName("ghost")
		p := newPage(uniqueName("orphan"), "/freshness/"+set, "", time.Minute)
		p.Spec.Origin, p.Spec.Set.Name = pagesv1alpha1.Origin{}, set
		create(p)
		Eventually(func(g Gomega) {
			cond := ready(fetch(g, p))
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Reason).To(Equal(pagesv1alpha1.ReasonSetNotFound))
		}).Should(Succeed())
		created := fetch(Default, p).CreationTimestamp.Time

		clk := clocktesting.NewFakeClock(created.Add(90 * time.Second))
		c := &FreshnessCollector{Reader: k8sClient, Clock: clk}
		problems, err := testutil.CollectAndLint(c)
		Expect(err).NotTo(HaveOccurred())
		Expect(problems).To(BeEmpty())
		series := func() string { return gather(c, set) }
		Expect(series()).To(And(
			ContainSubstring(`isr_pages{namespace="`+testNamespace+`",set="`+set+`"} 1`),
			ContainSubstring(`isr_pages_stale{mode="Interval",namespace="`+testNamespace+`",set="`+set+`"} 1`),
			ContainSubstring(`isr_pages_overdue{mode="Interval",namespace="`+testNamespace+`",set="`+set+`"} 0`),
			ContainSubstring(`isr_pages_oldest_age_seconds{mode="Interval",namespace="`+testNamespace+`",set="`+set+`"} 90`),
			ContainSubstring(`isr_pages_not_ready{namespace="`+testNamespace+`",reason="SetNotFound",set="`+set+`"} 1`),
		))
		clk.Step(time.Minute)
		Expect(series()).To(ContainSubstring(`isr_pages_overdue{mode="Interval",namespace="` + testNamespace + `",set="` + set + `"} 1`))

		Expect(k8sClient.Delete(context.Background(), p)).To(Succeed())
		Eventually(func() string { return gather(c, set) }).ShouldNot(ContainSubstring(set))
	})
})
