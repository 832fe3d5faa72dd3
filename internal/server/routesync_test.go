package server

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/storage"
)

// objectReader holds one stored object for every page.
type objectReader struct{ obj *storage.Object }

func (r objectReader) Get(context.Context, *pagesv1alpha1.StaticPage, string) (*storage.Object, error) {
	return r.obj, nil
}

// A set's page is served under the name the set gives its route, and under
// no other: a page created to squat another path's name is never the set's
// page for its own route either.
func TestRouteSyncServesSetPagesOnlyUnderTheirNames(t *testing.T) {
	cases := []struct {
		name  string
		child string
		want  bool
	}{
		{"ChildName", pagesv1alpha1.ChildName("shop", "/p/1"), true},
		{"LegacyChildName", pagesv1alpha1.LegacyChildName("shop", "/p/1"), true},
		{"another path's name", pagesv1alpha1.ChildName("shop", "/p/2"), false},
		{"another set's name", pagesv1alpha1.ChildName("other", "/p/1"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, obj := testPage(c.child, "", "/p/1", "<h1>1</h1>", time.Minute, pagesv1alpha1.RevalidateInterval)
			p.Spec.Set = pagesv1alpha1.SetReference{Name: "shop"}
			table := NewTable()
			rs := &RouteSync{Store: objectReader{obj}, Table: table, Policy: policy}
			if err := rs.sync(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			held := table.Get(types.NamespacedName{Namespace: p.Namespace, Name: p.Name}) != nil
			served := table.Lookup("", "/p/1") != nil
			if held != c.want || served != c.want {
				t.Errorf("page %s of route /p/1: held %v, served %v; want %v", p.Name, held, served, c.want)
			}
		})
	}
}
