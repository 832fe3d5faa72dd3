package server

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// TestCollisionReportsOneEventPerSetPerFlush records many refused requests
// for two sets: each Flush emits one Event per set that had any, counting
// them and naming the last path and the page holding its name; a Flush
// with nothing new emits none.
func TestCollisionReportsOneEventPerSetPerFlush(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	c := &CollisionReports{Recorder: rec}
	set := func(name string) *pagesv1alpha1.StaticPageSet {
		return &pagesv1alpha1.StaticPageSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}}
	}
	products, posts := set("products"), set("posts")
	squatter := &pagesv1alpha1.StaticPage{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "products-p-0123"}}
	squatter.Spec.Route = "/elsewhere"
	for i := range 100 {
		c.Record(products, fmt.Sprintf("/p/%d", i), squatter)
	}
	long := "/b/" + strings.Repeat("x", 4000)
	c.Record(posts, long, squatter)

	c.Flush()
	got := drain(rec)
	if len(got) != 2 {
		t.Fatalf("Flush emitted %d Events, want one per set: %q", len(got), got)
	}
	var productsNote, postsNote string
	for _, e := range got {
		if strings.Contains(e, "path /p/") {
			productsNote = e
		} else {
			postsNote = e
		}
	}
	for _, want := range []string{"Warning NameCollision", "answered 100 requests", "path /p/99,", "page name products-p-0123", "a StaticPage of no set", "route /elsewhere"} {
		if !strings.Contains(productsNote, want) {
			t.Errorf("Event %q does not say %q", productsNote, want)
		}
	}
	if !strings.Contains(postsNote, "answered 1 requests") || len(postsNote) > 1024 || !strings.Contains(postsNote, "(4003 bytes)") {
		t.Errorf("Event of a long path = %q (%d bytes), want it clipped under 1 KiB", postsNote, len(postsNote))
	}

	c.Flush()
	if got := drain(rec); len(got) != 0 {
		t.Errorf("a Flush with nothing new emitted %q", got)
	}
	c.Record(products, "/p/again", squatter)
	c.Flush()
	if got := drain(rec); len(got) != 1 || !strings.Contains(got[0], "answered 1 requests") {
		t.Errorf("after a new refusal Flush emitted %q, want one Event for it", got)
	}
}

// drain returns the Events rec holds.
func drain(rec *events.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}
