package tags

import (
	"fmt"
	"strings"
	"testing"
)

// TestHeaders checks each CDN's tag header against its documented syntax
// and limits (cited on Headers).
func TestHeaders(t *testing.T) {
	three := []string{"isr_page_shop_p", "sale", "shoes"}
	for name, want := range map[string]string{
		"xkey":           "isr_page_shop_p sale shoes", // vmod_xkey(3): space-separated
		"Surrogate-Key":  "isr_page_shop_p sale shoes", // Fastly: space-separated
		"Cache-Tag":      "isr_page_shop_p,sale,shoes", // Cloudflare: comma-separated
		"Edge-Cache-Tag": "isr_page_shop_p,sale,shoes", // Akamai: comma-delimited
		"CDN-Tag":        "isr_page_shop_p,sale,shoes", // Bunny: comma-separated
	} {
		h, err := LookupHeader(name)
		if err != nil {
			t.Fatal(err)
		}
		if got, dropped := h.Value(three); got != want || dropped != 0 {
			t.Errorf("%s: %q (%d dropped), want %q", name, got, dropped, want)
		}
	}
	if _, err := LookupHeader("cache-tag"); err != nil {
		t.Errorf("names are matched in any case: %v", err)
	}
	if _, err := LookupHeader("X-Tags"); err == nil {
		t.Error("an unknown header is accepted")
	}
}

// TestHeaderLimits fills each header past its limits with a page's most
// tags of the longest length: what is sent stays within the limit, and the
// identity tag, first, is always sent.
func TestHeaderLimits(t *testing.T) {
	many := []string{PageTag("ns", strings.Repeat("n", 200))}
	for i := range 300 {
		many = append(many, fmt.Sprintf("%03d", i)+strings.Repeat("t", MaxLength-3))
	}
	for _, tc := range []struct {
		name              string
		maxBytes, maxTags int
	}{
		{"xkey", 8192 - len("xkey: "), 0}, // varnishd http_resp_hdr_len, 8k by default
		{"Surrogate-Key", 16384, 0},       // Fastly: header at most 16,384 bytes
		{"Cache-Tag", 16 << 10, 0},        // Cloudflare: 16 KB
		{"Edge-Cache-Tag", 0, 128},        // Akamai: up to 128 values
		{"CDN-Tag", 1024, 0},              // Bunny: 1024 bytes
	} {
		h, _ := LookupHeader(tc.name)
		v, dropped := h.Value(many)
		n := len(strings.Split(v, h.Separator))
		if tc.maxBytes > 0 && len(v) > tc.maxBytes {
			t.Errorf("%s: %d bytes, over %d", tc.name, len(v), tc.maxBytes)
		}
		if tc.maxTags > 0 && n > tc.maxTags {
			t.Errorf("%s: %d tags, over %d", tc.name, n, tc.maxTags)
		}
		if n+dropped != len(many) || dropped == 0 {
			t.Errorf("%s: %d sent and %d dropped of %d", tc.name, n, dropped, len(many))
		}
		if !strings.HasPrefix(v, many[0]+h.Separator) {
			t.Errorf("%s does not start with the identity tag: %.60q", tc.name, v)
		}
	}

	t.Run("a tag that does not fit is skipped, a later shorter one still sent", func(t *testing.T) {
		h := Header{Separator: ",", MaxBytes: 10}
		if v, dropped := h.Value([]string{"aaaa", "bbbbbbbbbb", "cc"}); v != "aaaa,cc" || dropped != 1 {
			t.Errorf("%q, %d dropped", v, dropped)
		}
	})
	t.Run("a key over Fastly's 1024 bytes is not sent", func(t *testing.T) {
		h, _ := LookupHeader("Surrogate-Key")
		if v, dropped := h.Value([]string{strings.Repeat("k", 1025), "ok"}); v != "ok" || dropped != 1 {
			t.Errorf("%.40q, %d dropped", v, dropped)
		}
	})
}
