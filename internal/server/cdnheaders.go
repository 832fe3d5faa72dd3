package server

import (
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/net/http/httpguts"

	"github.com/isr-operator/isr-operator/internal/tags"
)

// Header names --cdn-cache-control-header may give.
const (
	// CDNCacheControl is RFC 9213's targeted Cache-Control for every CDN.
	CDNCacheControl = "CDN-Cache-Control"
	// SurrogateControl is the Edge Architecture Specification's header,
	// read by Fastly, Akamai and Varnish configurations.
	SurrogateControl = "Surrogate-Control"
)

// CDNHeaders are the header fields the server adds to a page for the CDN in
// front, built when the page is published, never per request.
type CDNHeaders struct {
	// tagHeaders carry each page's tags, in each CDN's syntax.
	tagHeaders []tags.Header
	// control is the CDN cache control field, nil when none is sent.
	control *headerField
	// none is the fields of a page when no tags are sent: control alone,
	// shared by every page.
	none *[]headerField
}

// headerField is one response header field, its value shared and never
// changed.
type headerField struct {
	name  string
	value []string
}

// NewCDNHeaders builds the CDN headers from --cdn-tag-headers (names of
// tags.Headers), --cdn-cache-control (a value, "" for none) and
// --cdn-cache-control-header (CDNCacheControl or SurrogateControl; ""
// means CDNCacheControl). It returns nil when nothing is to be sent.
func NewCDNHeaders(tagHeaders []string, control, controlHeader string) (*CDNHeaders, error) {
	c := &CDNHeaders{}
	var errs []error
	for _, name := range tagHeaders {
		h, err := tags.LookupHeader(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("--cdn-tag-headers: %w", err))
			continue
		}
		c.tagHeaders = append(c.tagHeaders, h)
	}
	if controlHeader == "" {
		controlHeader = CDNCacheControl
	}
	if controlHeader != CDNCacheControl && controlHeader != SurrogateControl {
		errs = append(errs, fmt.Errorf("--cdn-cache-control-header must be %s or %s, got %q", CDNCacheControl, SurrogateControl, controlHeader))
	}
	if control != "" {
		if !httpguts.ValidHeaderFieldValue(control) {
			errs = append(errs, fmt.Errorf("--cdn-cache-control %q is not a header value", control))
		}
		c.control = &headerField{name: http.CanonicalHeaderKey(controlHeader), value: []string{control}}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(c.tagHeaders) == 0 && c.control == nil {
		return nil, nil
	}
	var none []headerField
	if c.control != nil {
		none = append(none, *c.control)
	}
	c.none = &none
	return c, nil
}

// fields are the header fields of a page carrying pageTags (its
// status.tags, identity tags first so that they are the ones always sent).
// A nil c sends none.
func (c *CDNHeaders) fields(pageTags []string) *[]headerField {
	if c == nil {
		return nil
	}
	if len(pageTags) == 0 || len(c.tagHeaders) == 0 {
		return c.none
	}
	out := make([]headerField, 0, len(c.tagHeaders)+1)
	if c.control != nil {
		out = append(out, *c.control)
	}
	for _, h := range c.tagHeaders {
		if v, _ := h.Value(pageTags); v != "" {
			out = append(out, headerField{name: h.Name, value: []string{v}})
		}
	}
	return &out
}
