package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ChildName is the name of the StaticPage that set gives route: the same
// for every creator (the set's controller, each server replica), so that two
// creators of one path collide instead of making two pages. It is the set's
// name and a readable form of the route, each cut short, and 128 bits of a
// hash of both, so that no one can find another path of the set with the
// same name; within the 253 characters of a Kubernetes name.
func ChildName(set, route string) string {
	return childName(set, route, childHashBytes)
}

// LegacyChildName is the name ChildName gave route before it carried 128
// bits of hash (40). Pages created then keep their names: the server looks
// a path's page up under this name too, when it finds none under ChildName.
func LegacyChildName(set, route string) string {
	return childName(set, route, legacyChildHashBytes)
}

// IsChildName reports whether name is what set names route's page: its
// ChildName, or its LegacyChildName for a page created before. A set's page
// under any other name (one created to squat the name of another path's
// page) is not the set's page for its route: it is never rendered or
// served, and the set's controller deletes it if a request created it.
func IsChildName(set, route, name string) bool {
	return name == ChildName(set, route) || name == LegacyChildName(set, route)
}

// Bytes of the hash in a child's name: today's, and before.
const (
	childHashBytes       = 16
	legacyChildHashBytes = 5
)

// childName is ChildName with hashBytes bytes of hash.
func childName(set, route string, hashBytes int) string {
	sum := sha256.Sum256([]byte(set + "\x00" + route))
	var slug strings.Builder
	dash := false
	for _, c := range strings.ToLower(route) {
		ok := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		switch {
		case ok:
			slug.WriteRune(c)
			dash = false
		case !dash && slug.Len() > 0:
			slug.WriteByte('-')
			dash = true
		}
		if slug.Len() >= 40 {
			break
		}
	}
	s := strings.Trim(slug.String(), "-")
	prefix := set
	if len(prefix) > 60 {
		prefix = strings.TrimRight(prefix[:60], "-.")
	}
	name := prefix + "-"
	if s != "" {
		name += s + "-"
	}
	return name + hex.EncodeToString(sum[:hashBytes])
}

// RequestedChild is the StaticPage a server creates when a visitor requests
// route, a path of set that has no page yet: NewChild with created-by=request.
// This is what the server's admission policy admits.
func RequestedChild(set *StaticPageSet, route string) *StaticPage {
	return NewChild(set, route, CreatedByRequest)
}

// NewChild is set's page for route, whoever creates it: named
// ChildName(set, route) in the set's namespace, so that every creator of one
// path collides instead of duplicating it; labelled with the set and
// createdBy; controlled by the set (no blockOwnerDeletion, which would need
// a write on the set); with the set's host and revalidate settings and no
// origin, which only the set's template gives.
func NewChild(set *StaticPageSet, route, createdBy string) *StaticPage {
	var revalidate *metav1.Duration
	if set.Spec.Revalidate != nil {
		revalidate = &metav1.Duration{Duration: set.Spec.Revalidate.Duration}
	}
	return &StaticPage{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: set.Namespace,
			Name:      ChildName(set.Name, route),
			Labels: map[string]string{
				SetLabel:       set.Name,
				CreatedByLabel: createdBy,
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: GroupVersion.String(),
				Kind:       "StaticPageSet",
				Name:       set.Name,
				UID:        set.UID,
				Controller: new(true),
			}},
		},
		Spec: StaticPageSpec{
			Route:          route,
			Host:           set.Spec.Host,
			Set:            SetReference{Name: set.Name},
			Revalidate:     revalidate,
			RevalidateMode: set.Mode(),
		},
	}
}
