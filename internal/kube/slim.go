package kube

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// serverAnnotations are the only StaticPage annotations the server reads.
var serverAnnotations = []string{pagesv1alpha1.RevalidateAnnotation, pagesv1alpha1.RequestedAtAnnotation}

// SlimServerPage is the server's cache transform for StaticPages: on top of
// StripUnread, it drops what the server never reads and shares what many
// pages repeat, since a server caches every page and that state, not the
// page bodies --cache-size bounds, grows with the site.
//
// Kept: the metadata but finalizers and owner references (the UID among
// it, by which the ConfigMap store tells a page's ConfigMap from one of an
// earlier page of the same name), the revalidate and requested-at
// annotations, the spec but spec.origin (the manager fetches origins, never
// the server), status.observedGeneration, renderedAt, digest, tags and
// lastHandledRevalidate, of status.lastPurge the result, the digest and,
// when not Purged, the message (the revalidate API's wait answers once the
// CDNs in front purged the new content, or says why not), and of the
// conditions only Ready's status, reason and, when not True, message (the
// revalidate API reports it as why a page is not live). Shared: one map for pages with the same labels, and one
// copy of each namespace and condition word.
//
// The server never writes a StaticPage from its cache (it patches single
// annotations only, which the cluster's policies enforce), so nothing
// dropped here can be written back as removed; and a cached object is never
// changed in place (reads get deep copies), so a shared map is never
// written. Slimming a slimmed page changes nothing.
func SlimServerPage(in any) (any, error) {
	p, ok := in.(*pagesv1alpha1.StaticPage)
	if !ok {
		return StripUnread(in)
	}
	p.ManagedFields, p.Finalizers, p.OwnerReferences = nil, nil, nil
	p.Annotations = keepOnly(p.Annotations, serverAnnotations)
	p.Labels = sharedLabels.get(p.Labels)
	p.Namespace = intern(p.Namespace)
	p.Spec.Origin = pagesv1alpha1.Origin{}
	p.Status.Size, p.Status.ContentType, p.Status.OriginURL = 0, "", ""
	p.Status.OriginTags, p.Status.DroppedOriginTags = nil, 0
	purge := pagesv1alpha1.PurgeStatus{Result: intern(p.Status.LastPurge.Result), Digest: p.Status.LastPurge.Digest}
	if purge.Result != pagesv1alpha1.ReasonPurged {
		purge.Message = p.Status.LastPurge.Message
	}
	p.Status.LastPurge = purge
	var ready []metav1.Condition
	if c := meta.FindStatusCondition(p.Status.Conditions, pagesv1alpha1.ReadyCondition); c != nil {
		r := metav1.Condition{
			Type:   pagesv1alpha1.ReadyCondition,
			Status: metav1.ConditionStatus(intern(string(c.Status))),
			Reason: intern(c.Reason),
		}
		if c.Status != metav1.ConditionTrue {
			r.Message = c.Message
		}
		ready = []metav1.Condition{r}
	}
	p.Status.Conditions = ready
	return p, nil
}

// intern returns the shared copy of s.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return sharedStrings.get(s, func() string { return strings.Clone(s) })
}

// keepOnly returns m with only the given keys, nil when none is there.
func keepOnly(m map[string]string, keys []string) map[string]string {
	n := 0
	for _, k := range keys {
		if _, ok := m[k]; ok {
			n++
		}
	}
	if n == len(m) {
		return m
	}
	if n == 0 {
		return nil
	}
	out := make(map[string]string, n)
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// maxShared bounds the values a sharedValues remembers; past it the memory
// starts again, so a cluster of ever-new values costs a bounded amount.
// Namespaces, kinds, reasons and label sets are few next to pages.
const maxShared = 4096

// sharedValues hands out one value per key.
type sharedValues[V any] struct {
	mu   sync.Mutex
	vals map[string]V
}

// get returns the value remembered for key, else remembers newValue().
func (s *sharedValues[V]) get(key string, newValue func() V) V {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.vals[key]; ok {
		return v
	}
	if s.vals == nil || len(s.vals) >= maxShared {
		s.vals = map[string]V{}
	}
	v := newValue()
	s.vals[key] = v
	return v
}

var (
	sharedStrings sharedValues[string]
	sharedLabels  labelSets
)

// labelSets hands out one map per distinct label set.
type labelSets struct {
	sharedValues[map[string]string]
}

// get returns the shared map equal to m.
func (l *labelSets) get(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	return l.sharedValues.get(b.String(), func() map[string]string {
		s := make(map[string]string, len(m))
		for k, v := range m {
			s[intern(k)] = intern(v)
		}
		return s
	})
}
