package tags

import (
	"fmt"
	"slices"
	"strings"
)

// TemplatePattern is the regular expression a StaticPageSet's tag matches,
// as the CRD declares it: tag characters and whole {name} or {name...}
// references to the set's route parameters.
const TemplatePattern = `^([A-Za-z0-9._~%-]|[{][A-Za-z_][A-Za-z0-9_]*([.][.][.])?[}])+$`

// Expand fills a StaticPageSet's tag templates in for the page whose route
// parameters are params: each {name} (or {name...}) becomes the parameter's
// value with every byte outside "A-Za-z0-9-._~" percent-encoded, so that
// any value makes a valid tag. It returns the tags that are Valid, each
// once, in order, leaving out a template naming a parameter the route
// lacks (which the API refuses) and a tag not Valid once filled in (longer
// than MaxLength, or made reserved by a parameter's value).
func Expand(templates []string, params map[string]string) []string {
	var out []string
	for _, t := range templates {
		tag, err := expandOne(t, params)
		if err == nil && Valid(tag) && !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	return out
}

// expandOne fills in one template.
func expandOne(t string, params map[string]string) (string, error) {
	var b strings.Builder
	for {
		open := strings.IndexByte(t, '{')
		if open < 0 {
			b.WriteString(t)
			return b.String(), nil
		}
		end := strings.IndexByte(t[open:], '}')
		if end < 0 {
			return "", fmt.Errorf("tag %q: '{' without '}'", t)
		}
		b.WriteString(t[:open])
		name, _ := strings.CutSuffix(t[open+1:open+end], "...")
		v, ok := params[name]
		if !ok {
			return "", fmt.Errorf("tag %q refers to {%s}, which the route does not define", t, name)
		}
		escape(&b, v)
		t = t[open+end+1:]
	}
}

// escape writes v with every byte but "A-Za-z0-9-._~" as %XX.
func escape(b *strings.Builder, v string) {
	const hexDigits = "0123456789ABCDEF"
	for i := range len(v) {
		c := v[i]
		if tagByte(c) && c != '%' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
}
