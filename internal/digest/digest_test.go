package digest

import (
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	// The SHA-256 of the empty string and of "abc", as published.
	for body, want := range map[string]string{
		"":    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"abc": "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	} {
		if got := Of([]byte(body)); got != want {
			t.Errorf("Of(%q) = %s, want %s", body, got, want)
		}
	}
}

func TestParseAndFormat(t *testing.T) {
	canonical := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	cases := []struct {
		name, in string
		ok       bool
	}{
		{"canonical", canonical, true},
		{"zeros", "sha256:" + strings.Repeat("0", 64), true},
		{"empty", "", false},
		{"no prefix", strings.Repeat("0123456789abcdef", 4), false},
		{"uppercase hex", "sha256:" + strings.Repeat("0123456789ABCDEF", 4), false},
		{"too short", "sha256:abc", false},
		{"too long", canonical + "0", false},
		{"another algorithm", "md5:" + strings.Repeat("ab", 16), false},
		{"a path", "sha256:../../" + strings.Repeat("a", 58), false},
		{"not hex", "sha256:" + strings.Repeat("g", 64), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sum, err := Parse(c.in)
			if (err == nil) != c.ok {
				t.Fatalf("Parse(%q) error = %v, want ok %v", c.in, err, c.ok)
			}
			if Valid(c.in) != c.ok {
				t.Errorf("Valid(%q) = %v, want %v", c.in, !c.ok, c.ok)
			}
			if !c.ok {
				return
			}
			if got := sum.String(); got != c.in {
				t.Errorf("Parse(%q).String() = %q", c.in, got)
			}
			if got := sum.Hex(); got != c.in[len(Prefix):] {
				t.Errorf("Parse(%q).Hex() = %q", c.in, got)
			}
			if got := Hex(c.in); got != sum.Hex() {
				t.Errorf("Hex(%q) = %q, want %q", c.in, got, sum.Hex())
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(canonical) }); n != 0 {
		t.Errorf("parsing a digest allocates %v times", n)
	}
}
