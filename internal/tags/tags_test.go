package tags

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		tag  string
		want bool
	}{
		{"sale", true},
		{"product-42", true},
		{"A.b_c~d%20", true},
		{strings.Repeat("a", MaxLength), true},
		{"", false},
		{strings.Repeat("a", MaxLength+1), false},
		{"a b", false},
		{"a,b", false},
		{"a:b", false},
		{"a/b", false},
		{"a@b", false},
		{"{id}", false},
		{"café", false},
		{"isr_page_x", false},
		{"ISR_x", false},
		{"Isr_", false},
		{"isr", true},
		{"isr-x", true},
	} {
		if got := Valid(tc.tag); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.tag, got, tc.want)
		}
	}
}

func TestFromHeaders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  []string
		want    []string
		dropped int
	}{
		{"none", nil, nil, 0},
		{"commas", []string{"a,b, c"}, []string{"a", "b", "c"}, 0},
		{"spaces", []string{"a b  c\td"}, []string{"a", "b", "c", "d"}, 0},
		{"several headers, each once", []string{"a b", "b,c", "a"}, []string{"a", "b", "c"}, 0},
		{"invalid and reserved dropped", []string{"ok x:y isr_set_a_b " + strings.Repeat("z", 129)}, []string{"ok"}, 3},
		{"empty items", []string{" , ,, "}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, dropped := FromHeaders(tc.values)
			if !slices.Equal(got, tc.want) || dropped != tc.dropped {
				t.Errorf("FromHeaders(%q) = %q, %d; want %q, %d", tc.values, got, dropped, tc.want, tc.dropped)
			}
		})
	}

	t.Run("at most MaxOrigin", func(t *testing.T) {
		var many []string
		for i := range MaxOrigin + 3 {
			many = append(many, fmt.Sprintf("t%d", i))
		}
		got, dropped := FromHeaders([]string{strings.Join(many, " ")})
		if !slices.Equal(got, many[:MaxOrigin]) || dropped != 3 {
			t.Errorf("got %d tags, %d dropped; want the first %d, 3 dropped", len(got), dropped, MaxOrigin)
		}
	})
}

func TestIdentity(t *testing.T) {
	if got := PageTag("shop", "product-42"); got != "isr_page_shop_product-42" {
		t.Errorf("PageTag = %q", got)
	}
	if got := SetTag("shop", "products"); got != "isr_set_shop_products" {
		t.Errorf("SetTag = %q", got)
	}
	long := strings.Repeat("n", 253)
	a, b := PageTag("shop", long), PageTag("shop", long[:252]+"m")
	if len(a) != MaxLength || len(b) != MaxLength || a == b {
		t.Errorf("long names: %q (%d) and %q (%d) must be distinct and %d long", a, len(a), b, len(b), MaxLength)
	}
	if !strings.HasPrefix(a, "isr_page_shop_nnn") || !strings.Contains(a, "~") {
		t.Errorf("a long identity tag keeps its start and a hash: %q", a)
	}
	for _, tag := range []string{a, PageTag("ns", "a.b-c")} {
		for i := range len(tag) {
			if !tagByte(tag[i]) {
				t.Errorf("identity tag %q holds %q", tag, tag[i])
			}
		}
	}
}

func TestPageAll(t *testing.T) {
	p := Page{Namespace: "shop", Name: "p1", Set: "products",
		Declared: []string{"sale", "b", "bad tag"}, Origin: []string{"a", "sale", "isr_page_other_x"}}
	want := []string{"isr_page_shop_p1", "isr_set_shop_products", "a", "b", "sale"}
	if got := p.All(); !slices.Equal(got, want) {
		t.Errorf("All = %q, want %q", got, want)
	}
	if got := (Page{Namespace: "shop", Name: "p1"}).All(); !slices.Equal(got, []string{"isr_page_shop_p1"}) {
		t.Errorf("a page without tags carries its identity tag only: %q", got)
	}

	var declared, origin []string
	for i := range MaxDeclared {
		declared = append(declared, fmt.Sprintf("d%02d", i))
	}
	for i := range MaxOrigin + 10 {
		origin = append(origin, fmt.Sprintf("o%02d", i))
	}
	if got := (Page{Namespace: "n", Name: "p", Set: "s", Declared: declared, Origin: origin}).All(); len(got) != MaxPage {
		t.Errorf("All holds %d tags, want at most %d", len(got), MaxPage)
	}
}

func TestExpand(t *testing.T) {
	params := map[string]string{"id": "42", "name": "café au lait", "rest": "a/b", "evil": "isr_page_x_y"}
	for _, tc := range []struct {
		templates []string
		want      []string
	}{
		{[]string{"product-{id}", "all"}, []string{"product-42", "all"}},
		{[]string{"n-{name}"}, []string{"n-caf%C3%A9%20au%20lait"}},
		{[]string{"r-{rest...}"}, []string{"r-a%2Fb"}},
		{[]string{"{id}-{id}", "{id}-{id}"}, []string{"42-42"}},
		{[]string{"x-{missing}"}, nil},
		{[]string{"{evil}"}, nil},
		{[]string{"p%-{id}"}, []string{"p%-42"}},
		{[]string{strings.Repeat("a", 127) + "{id}"}, nil},
		{[]string{"{open"}, nil},
	} {
		if got := Expand(tc.templates, params); !slices.Equal(got, tc.want) {
			t.Errorf("Expand(%q) = %q, want %q", tc.templates, got, tc.want)
		}
	}
	// A value's '%' is escaped too, so two values never give one tag.
	if a, b := Expand([]string{"{id}"}, map[string]string{"id": "%41"}), Expand([]string{"{id}"}, map[string]string{"id": "A"}); slices.Equal(a, b) {
		t.Errorf("values %%41 and A give the same tag %q", a)
	}
}
