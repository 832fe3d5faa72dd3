package digest

import (
	"strings"
	"testing"
)

func TestCompact(t *testing.T) {
	canonical := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	for _, s := range []string{
		"",
		canonical,
		"sha256:" + strings.Repeat("0123456789ABCDEF", 4), // not lowercase: kept as text
		"sha256:abc",                        // too short
		"md5:" + strings.Repeat("ab", 16),   // another algorithm
		"sha256:" + strings.Repeat("0", 64), // the zero sum stands for no digest
	} {
		d := NewCompact(s)
		if got := d.String(); got != s {
			t.Errorf("%q read back as %q", s, got)
		}
		if !d.Is(s) {
			t.Errorf("%q is not itself", s)
		}
		if d.IsZero() != (s == "") {
			t.Errorf("%q: IsZero %v", s, d.IsZero())
		}
		for _, other := range []string{"", canonical, "sha256:" + strings.Repeat("f", 64)} {
			if other != s && d.Is(other) {
				t.Errorf("%q is %q", s, other)
			}
		}
	}
	if d := NewCompact(canonical); d.text != nil {
		t.Error("a sha256 digest is held as text")
	}
	if n := testing.AllocsPerRun(100, func() { _ = NewCompact(canonical).Is(canonical) }); n != 0 {
		t.Errorf("holding and comparing a sha256 digest allocates %v times", n)
	}
}
