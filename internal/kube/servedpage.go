package kube

import (
	"encoding/hex"
	"maps"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// ServedPage is what a server's cache holds of a StaticPage: the fields a
// server reads, in about half the memory of the StaticPage they come from
// (the UID and a sha256 digest as bytes, times as integers, one Ready
// condition, no room for what the server never reads). A server caches
// every page, so this, not the page bodies its --cache-size bounds, is what
// grows with the site. Code reads a ServedPage as a StaticPage
// (StaticPage, or a client from ServedPages.NewClient): only the informer's
// store and its event handlers see this type.
//
// Kept: namespace, name, UID (the ConfigMap store tells a page's ConfigMap
// from one of an earlier page of the same name by it), resourceVersion,
// generation, creation and deletion times, labels, the revalidate and
// requested-at annotations, spec.route, host, set, revalidate,
// revalidateMode and suspend, and status.observedGeneration, renderedAt,
// digest, lastHandledRevalidate and the Ready condition's status, reason,
// and message when not True (the revalidate API reports it as why a page
// is not live). Dropped: everything else, such as spec.origin (the manager
// fetches origins, never the server), finalizers, owner references and
// managed fields. Shared: one map for pages with the same labels, and one
// copy of each namespace and condition word.
//
// A ServedPage is never changed once stored: the informer replaces it on
// every update, so its shared maps are never written.
type ServedPage struct {
	namespace, name, resourceVersion string
	// uid holds a canonical UUID; the zero uid stands for no UID.
	uid    [16]byte
	digest CompactDigest
	// uidText is a UID uid cannot hold (not a canonical UUID, or the
	// zero one); nil when uid holds it.
	uidText *string

	generation, observedGeneration int64
	// created, deleted and renderedAt are Unix nanoseconds; 0 is unset.
	created, deleted, renderedAt int64
	// revalidate is spec.revalidate, valid when hasRevalidate.
	revalidate time.Duration

	labels, annotations map[string]string

	route, host, set, mode string
	lastHandledRevalidate  string
	ready                  servedCondition

	hasRevalidate, hasReady bool
	// suspend is spec.suspend: 0 unset, 1 false, 2 true.
	suspend uint8
}

// servedCondition is what a server reads of the Ready condition.
type servedCondition struct {
	status, reason, message string
}

var _ runtime.Object = &ServedPage{}
var _ metav1.Object = &ServedPage{}

// NewServedPage keeps of p what a server reads.
func NewServedPage(p *pagesv1alpha1.StaticPage) *ServedPage {
	s := &ServedPage{
		namespace:             intern(p.Namespace),
		name:                  p.Name,
		resourceVersion:       p.ResourceVersion,
		generation:            p.Generation,
		observedGeneration:    p.Status.ObservedGeneration,
		created:               UnixNano(p.CreationTimestamp.Time),
		deleted:               metaUnixNano(p.DeletionTimestamp),
		renderedAt:            metaUnixNano(p.Status.RenderedAt),
		labels:                sharedLabels.get(p.Labels),
		annotations:           keepOnly(p.Annotations, serverAnnotations),
		route:                 p.Spec.Route,
		host:                  p.Spec.Host,
		set:                   p.Spec.Set.Name,
		mode:                  intern(string(p.Spec.RevalidateMode)),
		lastHandledRevalidate: p.Status.LastHandledRevalidate,
	}
	s.SetUID(p.UID)
	s.digest = NewCompactDigest(p.Status.Digest)
	if p.Spec.Revalidate != nil {
		s.revalidate, s.hasRevalidate = p.Spec.Revalidate.Duration, true
	}
	if p.Spec.Suspend != nil {
		s.suspend = 1
		if *p.Spec.Suspend {
			s.suspend = 2
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type != pagesv1alpha1.ReadyCondition {
			continue
		}
		s.hasReady = true
		s.ready = servedCondition{status: intern(string(c.Status)), reason: intern(c.Reason)}
		if c.Status != metav1.ConditionTrue {
			s.ready.message = c.Message
		}
	}
	return s
}

// StaticPage is s as a new StaticPage, with the fields s keeps; its maps
// are copies, so the caller may change it.
func (s *ServedPage) StaticPage() *pagesv1alpha1.StaticPage {
	p := &pagesv1alpha1.StaticPage{}
	s.into(p)
	return p
}

// into sets p to s, as StaticPage does.
func (s *ServedPage) into(p *pagesv1alpha1.StaticPage) {
	*p = pagesv1alpha1.StaticPage{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:         s.namespace,
			Name:              s.name,
			UID:               s.GetUID(),
			ResourceVersion:   s.resourceVersion,
			Generation:        s.generation,
			CreationTimestamp: s.GetCreationTimestamp(),
			DeletionTimestamp: s.GetDeletionTimestamp(),
			Labels:            maps.Clone(s.labels),
			Annotations:       maps.Clone(s.annotations),
		},
		Spec: pagesv1alpha1.StaticPageSpec{
			Route:          s.route,
			Host:           s.host,
			Set:            pagesv1alpha1.SetReference{Name: s.set},
			RevalidateMode: pagesv1alpha1.RevalidateMode(s.mode),
		},
		Status: pagesv1alpha1.StaticPageStatus{
			ObservedGeneration:    s.observedGeneration,
			RenderedAt:            timeOf(s.renderedAt),
			Digest:                s.digest.String(),
			LastHandledRevalidate: s.lastHandledRevalidate,
		},
	}
	if s.hasRevalidate {
		p.Spec.Revalidate = &metav1.Duration{Duration: s.revalidate}
	}
	if s.suspend != 0 {
		v := s.suspend == 2
		p.Spec.Suspend = &v
	}
	if s.hasReady {
		p.Status.Conditions = []metav1.Condition{{
			Type:    pagesv1alpha1.ReadyCondition,
			Status:  metav1.ConditionStatus(s.ready.status),
			Reason:  s.ready.reason,
			Message: s.ready.message,
		}}
	}
}

// AsStaticPage is obj as a StaticPage when it is a ServedPage (a copy) or a
// StaticPage (itself); ok is false for anything else.
func AsStaticPage(obj any) (page *pagesv1alpha1.StaticPage, ok bool) {
	switch o := obj.(type) {
	case *ServedPage:
		return o.StaticPage(), true
	case *pagesv1alpha1.StaticPage:
		return o, true
	}
	return nil, false
}

// parseUID reads a canonical (lowercase, hyphenated) UUID into b, reporting
// whether s was one: the API server's UIDs are, and a UID read back must be
// the same string.
func parseUID(s string, b *[16]byte) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	return lowerHex(s[0:8], b[0:4]) && lowerHex(s[9:13], b[4:6]) && lowerHex(s[14:18], b[6:8]) &&
		lowerHex(s[19:23], b[8:10]) && lowerHex(s[24:36], b[10:16])
}

// formatUID is the canonical text of b.
func formatUID(b *[16]byte) string {
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// UnixNano is t as the server's compact records (ServedPage, its table
// entries) hold a time: Unix nanoseconds, 0 for the zero time.
func UnixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// UnixTime is the time UnixNano made n of.
func UnixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// metaUnixNano is UnixNano of an optional API time.
func metaUnixNano(t *metav1.Time) int64 {
	if t == nil {
		return 0
	}
	return UnixNano(t.Time)
}

// timeOf is n as an optional API time, nil for 0.
func timeOf(n int64) *metav1.Time {
	if n == 0 {
		return nil
	}
	t := metav1.NewTime(UnixTime(n))
	return &t
}

// GetObjectKind implements runtime.Object: a ServedPage carries no type
// meta, as a StaticPage from a cache carries none.
func (s *ServedPage) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object. The copy shares the label and
// annotation maps, which no one writes.
func (s *ServedPage) DeepCopyObject() runtime.Object {
	c := *s
	return &c
}

// The metav1.Object methods let the informer, its indexers and the
// controllers' event handlers and predicates read a ServedPage as any
// object. Nothing changes a stored one; the setters exist for the
// interface, and those of fields a ServedPage does not keep do nothing.

// GetNamespace implements metav1.Object.
func (s *ServedPage) GetNamespace() string { return s.namespace }

// SetNamespace implements metav1.Object.
func (s *ServedPage) SetNamespace(v string) { s.namespace = intern(v) }

// GetName implements metav1.Object.
func (s *ServedPage) GetName() string { return s.name }

// SetName implements metav1.Object.
func (s *ServedPage) SetName(v string) { s.name = v }

// GetGenerateName implements metav1.Object.
func (s *ServedPage) GetGenerateName() string { return "" }

// SetGenerateName implements metav1.Object.
func (s *ServedPage) SetGenerateName(string) {}

// GetSelfLink implements metav1.Object.
func (s *ServedPage) GetSelfLink() string { return "" }

// SetSelfLink implements metav1.Object.
func (s *ServedPage) SetSelfLink(string) {}

// GetResourceVersion implements metav1.Object.
func (s *ServedPage) GetResourceVersion() string { return s.resourceVersion }

// SetResourceVersion implements metav1.Object.
func (s *ServedPage) SetResourceVersion(v string) { s.resourceVersion = v }

// GetGeneration implements metav1.Object.
func (s *ServedPage) GetGeneration() int64 { return s.generation }

// SetGeneration implements metav1.Object.
func (s *ServedPage) SetGeneration(v int64) { s.generation = v }

// GetDeletionGracePeriodSeconds implements metav1.Object.
func (s *ServedPage) GetDeletionGracePeriodSeconds() *int64 { return nil }

// SetDeletionGracePeriodSeconds implements metav1.Object.
func (s *ServedPage) SetDeletionGracePeriodSeconds(*int64) {}

// GetLabels implements metav1.Object.
func (s *ServedPage) GetLabels() map[string]string { return s.labels }

// SetLabels implements metav1.Object.
func (s *ServedPage) SetLabels(v map[string]string) { s.labels = sharedLabels.get(v) }

// GetAnnotations implements metav1.Object.
func (s *ServedPage) GetAnnotations() map[string]string { return s.annotations }

// SetAnnotations implements metav1.Object.
func (s *ServedPage) SetAnnotations(v map[string]string) {
	s.annotations = keepOnly(v, serverAnnotations)
}

// GetFinalizers implements metav1.Object.
func (s *ServedPage) GetFinalizers() []string { return nil }

// SetFinalizers implements metav1.Object.
func (s *ServedPage) SetFinalizers([]string) {}

// GetOwnerReferences implements metav1.Object.
func (s *ServedPage) GetOwnerReferences() []metav1.OwnerReference { return nil }

// SetOwnerReferences implements metav1.Object.
func (s *ServedPage) SetOwnerReferences([]metav1.OwnerReference) {}

// GetManagedFields implements metav1.Object.
func (s *ServedPage) GetManagedFields() []metav1.ManagedFieldsEntry { return nil }

// SetManagedFields implements metav1.Object.
func (s *ServedPage) SetManagedFields([]metav1.ManagedFieldsEntry) {}

// GetCreationTimestamp implements metav1.Object.
func (s *ServedPage) GetCreationTimestamp() metav1.Time {
	return metav1.NewTime(UnixTime(s.created))
}

// SetCreationTimestamp implements metav1.Object.
func (s *ServedPage) SetCreationTimestamp(v metav1.Time) { s.created = UnixNano(v.Time) }

// GetDeletionTimestamp implements metav1.Object.
func (s *ServedPage) GetDeletionTimestamp() *metav1.Time { return timeOf(s.deleted) }

// SetDeletionTimestamp implements metav1.Object.
func (s *ServedPage) SetDeletionTimestamp(v *metav1.Time) { s.deleted = metaUnixNano(v) }

// GetUID implements metav1.Object.
func (s *ServedPage) GetUID() types.UID {
	if s.uidText != nil {
		return types.UID(*s.uidText)
	}
	if s.uid == ([16]byte{}) {
		return ""
	}
	return types.UID(formatUID(&s.uid))
}

// SetUID implements metav1.Object.
func (s *ServedPage) SetUID(v types.UID) {
	s.uid, s.uidText = [16]byte{}, nil
	if v == "" {
		return
	}
	if !parseUID(string(v), &s.uid) || s.uid == ([16]byte{}) {
		text := string(v)
		s.uid, s.uidText = [16]byte{}, &text
	}
}
