package kube

import (
	"maps"
	"slices"
	"strings"
	"sync"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// serverAnnotations are the only StaticPage annotations the server reads.
var serverAnnotations = []string{pagesv1alpha1.RevalidateAnnotation, pagesv1alpha1.RequestedAtAnnotation}

// SlimServerPage is the server's cache transform for StaticPages: a
// StaticPage is stored as its ServedPage, which keeps only what the server
// reads; a ServedPage (the informer hands its own objects back on a resync)
// is kept as it is, and other objects only lose what StripUnread strips.
func SlimServerPage(in any) (any, error) {
	switch p := in.(type) {
	case *pagesv1alpha1.StaticPage:
		return NewServedPage(p), nil
	case *ServedPage:
		return p, nil
	}
	return StripUnread(in)
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
