package controllers

import (
	"slices"
	"testing"

	"github.com/isr-operator/isr-operator/internal/tags"
)

func TestOriginTagHeaders(t *testing.T) {
	for _, tc := range []struct {
		flag []string
		want []string
		ok   bool
	}{
		{nil, tags.DefaultOriginHeaders, true},
		{[]string{"none"}, nil, true},
		{[]string{"X-Tags", "Cache-Tag"}, []string{"X-Tags", "Cache-Tag"}, true},
		{[]string{"bad header"}, nil, false},
		{[]string{"none", "Cache-Tag"}, nil, false},
	} {
		o := DefaultOptions()
		o.OriginTagHeaders = tc.flag
		err := o.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("--origin-tag-header=%q: Validate() = %v", tc.flag, err)
			continue
		}
		if tc.ok && !slices.Equal(o.tagHeaders(), tc.want) {
			t.Errorf("--origin-tag-header=%q reads %q, want %q", tc.flag, o.tagHeaders(), tc.want)
		}
	}
}
