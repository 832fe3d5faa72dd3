package revalidateapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/isr-operator/isr-operator/internal/route"
	"github.com/isr-operator/isr-operator/internal/tags"
)

// Request is the JSON body of POST /revalidate. Pages named by any of
// Paths, Selector, Names and Tags are revalidated.
type Request struct {
	// Paths are URL paths to revalidate, as visitors request them
	// (percent-encoding is decoded as for a visitor's request).
	Paths []string `json:"paths,omitempty"`
	// Host is the Host the Paths are requested with: each path then names
	// the page a visitor to that host gets (the page for this host, else the
	// page for any host). Without it, a path names every page at that route.
	Host string `json:"host,omitempty"`
	// Selector is a label selector over StaticPages, as `kubectl -l` takes.
	Selector string `json:"selector,omitempty"`
	// Names are StaticPage names in Namespace.
	Names []string `json:"names,omitempty"`
	// Tags name every page carrying any of them in status.tags (its
	// spec.tags, its origin's tags and its identity tags).
	Tags []string `json:"tags,omitempty"`
	// Namespace scopes Paths, Names (required with them), Selector and
	// Tags.
	Namespace string `json:"namespace,omitempty"`
	// Wait makes the call return once the new content is served here.
	Wait bool `json:"wait,omitempty"`
	// Timeout bounds Wait, as a Go duration ("10s"); default 10s, at most 60s.
	Timeout string `json:"timeout,omitempty"`
}

// parsed is a validated Request.
type parsed struct {
	Request
	// routes are Paths decoded, index for index.
	routes []string
	// host is Host normalised as the server normalises a Host header.
	host string
	// selectors are parsed label selectors; selectorSrc their text, index
	// for index (a request has one, a Call any number).
	selectors   []labels.Selector
	selectorSrc []string
	timeout     time.Duration
}

// Limits of a request.
const (
	maxPaths       = 1000
	maxTags        = 100
	maxPathLength  = 2048 // spec.route's limit
	defaultTimeout = 10 * time.Second
	maxTimeout     = 60 * time.Second
)

// parseRequest decodes and validates a body, saying what is wrong in terms a
// CMS integrator can act on.
func parseRequest(body []byte) (*parsed, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var r Request
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("body is not a valid revalidate request: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("body holds more than one JSON value")
	}
	if len(r.Paths) == 0 && r.Selector == "" && len(r.Names) == 0 && len(r.Tags) == 0 {
		return nil, errors.New("name pages with at least one of paths, selector, names or tags")
	}
	var selectors []string
	if r.Selector != "" {
		selectors = []string{r.Selector}
	}
	return validate(r, selectors)
}

// Call is a revalidation asked for inside the server, by a webhook
// receiver: the pages of one namespace that its paths, tags and label
// selectors name.
type Call struct {
	// Namespace holds the pages; required.
	Namespace string
	// Paths are URL paths, as in a Request.
	Paths []string
	// Tags are tags, as in a Request.
	Tags []string
	// Selectors are label selectors, as a Request's Selector each.
	Selectors []string
	// Caller names who asked, for the logs.
	Caller string
}

// parseCall validates c as parseRequest validates a request.
func parseCall(c Call) (*parsed, error) {
	if c.Namespace == "" {
		return nil, errors.New("a call needs a namespace")
	}
	return validate(Request{Paths: c.Paths, Tags: c.Tags, Namespace: c.Namespace}, c.Selectors)
}

// validate checks a request, its selectors given apart, saying what is
// wrong in terms a CMS integrator can act on.
func validate(r Request, selectors []string) (*parsed, error) {
	p := &parsed{Request: r, timeout: defaultTimeout}
	if len(r.Tags) > maxTags {
		return nil, fmt.Errorf("at most %d tags per request", maxTags)
	}
	for _, t := range r.Tags {
		// Identity tags (isr_page_..., isr_set_...) may be named too.
		if !tags.Wellformed(t) {
			return nil, fmt.Errorf("tag %.140q is not a tag: 1 to %d characters of ASCII letters, digits and -._~%%", t, tags.MaxLength)
		}
	}
	if len(r.Paths)+len(r.Names) > maxPaths {
		return nil, fmt.Errorf("at most %d paths and names per request", maxPaths)
	}
	for _, path := range r.Paths {
		route, err := decodePath(path)
		if err != nil {
			return nil, err
		}
		p.routes = append(p.routes, route)
	}
	if r.Host != "" {
		if len(r.Paths) == 0 {
			return nil, errors.New("host only narrows paths; give paths with it")
		}
		host, err := validHost(r.Host)
		if err != nil {
			return nil, err
		}
		p.host = host
	}
	if r.Namespace != "" {
		if errs := validation.IsDNS1123Label(r.Namespace); len(errs) > 0 {
			return nil, fmt.Errorf("namespace %q: %s", r.Namespace, strings.Join(errs, "; "))
		}
	}
	if len(r.Names) > 0 && r.Namespace == "" {
		return nil, errors.New("names need a namespace")
	}
	for _, n := range r.Names {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			return nil, fmt.Errorf("name %q: %s", n, strings.Join(errs, "; "))
		}
	}
	for _, src := range selectors {
		sel, err := labels.Parse(src)
		if err != nil {
			return nil, fmt.Errorf("selector: %w", err)
		}
		if sel.Empty() {
			return nil, errors.New("selector matches every page; name the pages")
		}
		p.selectors = append(p.selectors, sel)
		p.selectorSrc = append(p.selectorSrc, src)
	}
	if r.Timeout != "" {
		d, err := time.ParseDuration(r.Timeout)
		if err != nil || d <= 0 || d > maxTimeout {
			return nil, fmt.Errorf("timeout %q must be a duration above 0 and at most %s", r.Timeout, maxTimeout)
		}
		p.timeout = d
	}
	return p, nil
}

// decodePath turns a path as visitors request it into the route it is
// served from, refusing what no StaticPage route can be.
func decodePath(path string) (string, error) {
	if len(path) > maxPathLength {
		return "", fmt.Errorf("path %.40q… is longer than %d bytes", path, maxPathLength)
	}
	decoded, err := route.RequestPath(path)
	if err != nil {
		return "", fmt.Errorf("path %q: %w", path, err)
	}
	if err := route.ValidateRoute(decoded); err != nil {
		if decoded != path {
			return "", fmt.Errorf("path %q decodes to a route no page can have: %w", path, err)
		}
		return "", fmt.Errorf("path %q: %w", path, err)
	}
	return decoded, nil
}

// validHost accepts a host name with an optional port, as spec.host does
// once normalised the way the server normalises a Host header.
func validHost(host string) (string, error) {
	n := route.NormalizeHost(host)
	if err := route.ValidateHost(n); err != nil {
		return "", fmt.Errorf("host %q: %w", host, err)
	}
	return n, nil
}
