package server

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

func testSet(name, route string, ready metav1.ConditionStatus, reason string) *pagesv1alpha1.StaticPageSet {
	s := &pagesv1alpha1.StaticPageSet{}
	s.Namespace, s.Name, s.UID, s.Generation = "default", name, types.UID(name+"-uid"), 2
	s.CreationTimestamp = metav1.Time{Time: t0}
	s.Spec.Route = route
	s.Spec.Origin.URL = "http://origin.example" + route
	s.Status.Conditions = []metav1.Condition{{Type: pagesv1alpha1.ReadyCondition, Status: ready, Reason: reason, ObservedGeneration: 2}}
	return s
}

func TestSetsServeOnlyServingSets(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  *pagesv1alpha1.StaticPageSet
		want bool
	}{
		{"serving", testSet("a", "/p/{id}", metav1.ConditionTrue, pagesv1alpha1.ReasonServing), true},
		{"conflict", testSet("a", "/p/{id}", metav1.ConditionFalse, pagesv1alpha1.ReasonConflict), false},
		{"invalid spec", testSet("a", "/p/{id}", metav1.ConditionFalse, pagesv1alpha1.ReasonInvalidSpec), false},
		{"no condition yet", func() *pagesv1alpha1.StaticPageSet {
			s := testSet("a", "/p/{id}", metav1.ConditionTrue, pagesv1alpha1.ReasonServing)
			s.Status.Conditions = nil
			return s
		}(), false},
		{"serving an older spec", func() *pagesv1alpha1.StaticPageSet {
			s := testSet("a", "/p/{id}", metav1.ConditionTrue, pagesv1alpha1.ReasonServing)
			s.Generation = 3
			return s
		}(), false},
		{"a pattern that does not parse", testSet("a", "/p/{id", metav1.ConditionTrue, pagesv1alpha1.ReasonServing), false},
	} {
		sets := NewSets()
		_ = sets.Put(tc.set, true)
		_, path, ok := sets.Match("shop.example", "/p/42")
		if ok != tc.want || ok && path != "/p/42" {
			t.Errorf("%s: Match = %q, %v; want %v", tc.name, path, ok, tc.want)
		}
	}

	// A set that stops serving stops routing; one that serves again does.
	sets := NewSets()
	_ = sets.Put(testSet("a", "/p/{id}", metav1.ConditionTrue, pagesv1alpha1.ReasonServing), true)
	_ = sets.Put(testSet("a", "/p/{id}", metav1.ConditionFalse, pagesv1alpha1.ReasonConflict), true)
	if _, _, ok := sets.Match("", "/p/1"); ok {
		t.Error("a set in conflict still routes")
	}
	_ = sets.Put(testSet("a", "/p/{id}", metav1.ConditionTrue, pagesv1alpha1.ReasonServing), true)
	if _, _, ok := sets.Match("", "/p/1"); !ok {
		t.Error("a serving set does not route")
	}
	sets.Delete(types.NamespacedName{Namespace: "default", Name: "a"})
	if _, _, ok := sets.Match("", "/p/1"); ok {
		t.Error("a deleted set still routes")
	}
}

func TestSetsKeepTheLimiterAcrossUpdates(t *testing.T) {
	sets := NewSets()
	set := testSet("a", "/p/{id}", metav1.ConditionTrue, pagesv1alpha1.ReasonServing)
	set.Spec.MaxCreationRate = 1
	_ = sets.Put(set, true)
	e, _, _ := sets.Match("", "/p/1")
	if !e.limiter.Allow() || e.limiter.Allow() {
		t.Fatal("a rate of 1 allows one create at once")
	}
	_ = sets.Put(set.DeepCopy(), true)
	e, _, _ = sets.Match("", "/p/1")
	if e.limiter.AllowN(time.Now(), 1) {
		t.Error("an update of the set refilled its bucket")
	}
	set.Spec.MaxCreationRate = 5
	_ = sets.Put(set.DeepCopy(), true)
	e, _, _ = sets.Match("", "/p/1")
	if e.limiter.Burst() != 5 {
		t.Errorf("burst %d after maxCreationRate 5", e.limiter.Burst())
	}
}

func TestSetsCountChildren(t *testing.T) {
	sets := NewSets()
	child := func(name, set string) *pagesv1alpha1.StaticPage {
		p := &pagesv1alpha1.StaticPage{}
		p.Namespace, p.Name = "default", name
		if set != "" {
			p.Spec.Set = pagesv1alpha1.SetReference{Name: set}
		}
		return p
	}
	a := types.NamespacedName{Namespace: "default", Name: "a"}
	sets.trackChild(child("1", "a"))
	sets.trackChild(child("1", "a")) // an update: counted once
	sets.trackChild(child("2", "a"))
	sets.trackChild(child("3", "b"))
	sets.trackChild(child("4", ""))
	if n := sets.Children(a); n != 2 {
		t.Errorf("a has %d pages, want 2", n)
	}
	sets.untrackChild(types.NamespacedName{Namespace: "default", Name: "2"})
	sets.untrackChild(types.NamespacedName{Namespace: "default", Name: "2"})
	sets.untrackChild(types.NamespacedName{Namespace: "default", Name: "4"})
	if n := sets.Children(a); n != 1 {
		t.Errorf("a has %d pages after a delete, want 1", n)
	}
	if n := sets.Children(types.NamespacedName{Namespace: "other", Name: "a"}); n != 0 {
		t.Errorf("a set of another namespace has %d pages", n)
	}
}
