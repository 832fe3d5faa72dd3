package render

import (
	"fmt"
	"mime"
	"strings"
)

// DefaultContentTypes are the media types a page may have unless
// --allowed-content-types says otherwise: documents and the text assets
// served beside them. Anything else (an image, a binary, a download) is more
// likely a misconfigured origin than a page.
var DefaultContentTypes = []string{
	"text/html", "application/xhtml+xml", "text/plain", "text/css", "text/javascript",
	"application/javascript", "application/json", "application/xml", "text/xml", "image/svg+xml",
}

// ContentTypes is a set of allowed media types; "type/*" allows a whole
// type and "*" or "*/*" allows any.
type ContentTypes struct {
	any   bool
	types map[string]bool
}

// ParseContentTypes validates a list of media types; an empty list means
// DefaultContentTypes.
func ParseContentTypes(list []string) (*ContentTypes, error) {
	if len(list) == 0 {
		list = DefaultContentTypes
	}
	c := &ContentTypes{types: map[string]bool{}}
	for _, raw := range list {
		t := strings.ToLower(strings.TrimSpace(raw))
		switch t {
		case "":
			continue
		case "*", "*/*":
			c.any = true
			continue
		}
		mt, _, err := mime.ParseMediaType(t)
		if err != nil || !strings.Contains(mt, "/") || strings.HasPrefix(mt, "*/") {
			return nil, fmt.Errorf("allowed content type %q is not a media type such as text/html or text/*", raw)
		}
		c.types[mt] = true
	}
	return c, nil
}

// Allows reports whether a Content-Type header value is allowed; nil allows
// anything.
func (c *ContentTypes) Allows(contentType string) bool {
	if c == nil || c.any {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if c.types[mt] {
		return true
	}
	major, _, _ := strings.Cut(mt, "/")
	return c.types[major+"/*"]
}
