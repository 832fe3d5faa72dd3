package server

import (
	"strings"
	"testing"
)

func TestCDNHeaderFlags(t *testing.T) {
	for _, tc := range []struct {
		tagHeaders      []string
		control, header string
		err             string
		none            bool
	}{
		{none: true},
		{tagHeaders: []string{"xkey", "Surrogate-Key", "Cache-Tag", "Edge-Cache-Tag", "CDN-Tag"}},
		{tagHeaders: []string{"cache-tag"}},
		{control: "max-age=3600"},
		{control: "max-age=3600", header: SurrogateControl},
		{tagHeaders: []string{"X-Tags"}, err: "--cdn-tag-headers"},
		{control: "max-age=1", header: "X-Control", err: "--cdn-cache-control-header"},
		{control: "max-age=1\r\nX-Injected: 1", err: "--cdn-cache-control"},
	} {
		o := DefaultOptions()
		o.CDNTagHeaders, o.CDNCacheControl = tc.tagHeaders, tc.control
		if tc.header != "" {
			o.CDNCacheControlHeader = tc.header
		}
		err := o.Validate()
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: Validate() = %v, want an error about %s", tc, err, tc.err)
			}
			continue
		case err != nil:
			t.Errorf("%+v: Validate() = %v", tc, err)
			continue
		}
		cdn, _ := o.CDN()
		if (cdn == nil) != tc.none {
			t.Errorf("%+v: CDN() = %v", tc, cdn)
		}
	}
}

func TestCDNFields(t *testing.T) {
	c, err := NewCDNHeaders([]string{"Surrogate-Key", "CDN-Tag"}, "max-age=60", SurrogateControl)
	if err != nil {
		t.Fatal(err)
	}
	f := *c.fields([]string{"isr_page_a_b", "sale"})
	want := []headerField{
		{"Surrogate-Control", []string{"max-age=60"}},
		{"Surrogate-Key", []string{"isr_page_a_b sale"}},
		{"Cdn-Tag", []string{"isr_page_a_b,sale"}},
	}
	if len(f) != len(want) {
		t.Fatalf("fields %v, want %v", f, want)
	}
	for i := range want {
		if f[i].name != want[i].name || f[i].value[0] != want[i].value[0] {
			t.Errorf("field %d = %v, want %v", i, f[i], want[i])
		}
	}
	if a, b := c.fields(nil), c.fields(nil); a != b || len(*a) != 1 {
		t.Errorf("pages without tags share one control field: %v, %v", a, b)
	}
	var none *CDNHeaders
	if none.fields([]string{"x"}) != nil {
		t.Error("no CDN headers configured, but fields sent")
	}
}
