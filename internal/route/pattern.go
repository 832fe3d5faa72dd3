package route

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxParamLength is the longest value a pattern parameter takes, in bytes
// once decoded; for a {rest...} parameter it bounds the whole value.
const MaxParamLength = 256

// Errors about a parameter's value.
var (
	errValueEmpty   = errors.New("value must not be empty")
	errValueDots    = errors.New("value must not be '.' or '..'")
	errValueSlash   = errors.New("value must not contain '/'")
	errValueControl = errors.New("value must not contain control characters")
	// A backslash is refused because some origins take it, once
	// percent-encoded in the origin URL, for a path separator.
	errValueBackslash = errors.New("value must not contain '\\'")
	errValueUTF8      = errors.New("value must be valid UTF-8")
	errValueLong      = fmt.Errorf("value must be at most %d bytes long", MaxParamLength)
)

// segment is one '/'-separated part of a pattern: a literal (decoded) or
// a parameter.
type segment struct {
	lit   string
	name  string
	param bool
}

// Pattern is a StaticPageSet route pattern such as /products/{id}: literal
// segments, parameters that each fill one segment, and optionally a final
// {rest...} parameter that fills one or more segments.
type Pattern struct {
	s string
	// segs are the segments before any rest parameter.
	segs []segment
	// rest names the final rest parameter, "" if there is none.
	rest  string
	names []string
	// constraints hold, per parameter name, the expression its whole
	// value must match (set by Constrain).
	constraints map[string]*regexp.Regexp
}

// ParsePattern parses a route pattern. The pattern must be a route
// ValidateRoute accepts, hold at least one parameter, and give each
// parameter a whole segment and a distinct name of ASCII letters, digits
// and '_' not starting with a digit; only the last segment may be a
// {rest...} parameter.
func ParsePattern(s string) (*Pattern, error) {
	if err := ValidateRoute(s); err != nil {
		return nil, fmt.Errorf("pattern %q: %w", s, err)
	}
	p := &Pattern{s: s}
	parts := strings.Split(s[1:], "/")
	for i, part := range parts {
		if !strings.ContainsAny(part, "{}") {
			p.segs = append(p.segs, segment{lit: part})
			continue
		}
		inner, ok := strings.CutPrefix(part, "{")
		if ok {
			inner, ok = strings.CutSuffix(inner, "}")
		}
		if !ok || strings.ContainsAny(inner, "{}") {
			return nil, fmt.Errorf("pattern %q: segment %q: a parameter must fill a whole segment, as {name}", s, part)
		}
		name, rest := strings.CutSuffix(inner, "...")
		if err := validName(name); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", s, err)
		}
		if slices.Contains(p.names, name) {
			return nil, fmt.Errorf("pattern %q: parameter {%s} appears twice", s, name)
		}
		p.names = append(p.names, name)
		if rest {
			if i != len(parts)-1 {
				return nil, fmt.Errorf("pattern %q: {%s...} must be the last segment", s, name)
			}
			p.rest = name
			continue
		}
		p.segs = append(p.segs, segment{name: name, param: true})
	}
	if len(p.names) == 0 {
		return nil, fmt.Errorf("pattern %q has no parameter such as {id}", s)
	}
	return p, nil
}

// ParseConstrained parses a route pattern, as ParsePattern does, and
// constrains its parameters with exprs, as Constrain does.
func ParseConstrained(s string, exprs map[string]string) (*Pattern, error) {
	p, err := ParsePattern(s)
	if err != nil {
		return nil, err
	}
	return p.Constrain(exprs)
}

// Constrain returns a copy of p whose Match, and so MatchRoute, also
// requires the value of each parameter named in exprs to match its RE2
// expression as a whole (as ^(?:expr)$ would), decoded as Match returns
// it; a {rest...} parameter's value is its segments joined with '/'. Every
// name must be one of p's parameters, and every expression must compile.
func (p *Pattern) Constrain(exprs map[string]string) (*Pattern, error) {
	if len(exprs) == 0 {
		return p, nil
	}
	c := *p
	c.constraints = make(map[string]*regexp.Regexp, len(exprs))
	names := slices.Sorted(maps.Keys(exprs))
	for _, name := range names {
		if !slices.Contains(p.names, name) {
			return nil, fmt.Errorf("parameter %q is not a parameter of pattern %q", name, p.s)
		}
		re, err := regexp.Compile(`^(?:` + exprs[name] + `)$`)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: pattern %q: %w", name, exprs[name], err)
		}
		c.constraints[name] = re
	}
	return &c, nil
}

// allows reports whether params satisfy the pattern's constraints.
func (p *Pattern) allows(params map[string]string) bool {
	for name, re := range p.constraints {
		if !re.MatchString(params[name]) {
			return false
		}
	}
	return true
}

// validName accepts a parameter name: [A-Za-z_][A-Za-z0-9_]*.
func validName(name string) error {
	ok := name != ""
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9'
	}
	if !ok {
		return fmt.Errorf("parameter name %q must be ASCII letters, digits or '_', not starting with a digit", name)
	}
	return nil
}

// String returns the pattern as it was parsed.
func (p *Pattern) String() string { return p.s }

// Names returns the pattern's parameter names, in order.
func (p *Pattern) Names() []string { return slices.Clone(p.names) }

// Match matches an escaped request path (r.URL.EscapedPath()) against the
// pattern and returns each parameter's decoded value. It does not match a
// path whose decoded form ValidateRoute refuses, nor one that would give a
// parameter a value that is empty, '.' or '..', holds an encoded slash, a
// backslash or a control character, or is longer than MaxParamLength
// bytes; a rest value obeys the same rules segment by segment. Nor does it
// match a path whose values break the pattern's constraints (Constrain).
func (p *Pattern) Match(escapedPath string) (map[string]string, bool) {
	rp, ok := ParseRequestPath(escapedPath)
	if !ok {
		return nil, false
	}
	return p.MatchParsed(rp)
}

// maxEscapedRoute is the longest escaped path whose decoded form can be a
// route: each of MaxRouteLength characters is at most 4 bytes of UTF-8,
// each escaped as %XX.
const maxEscapedRoute = MaxRouteLength * 4 * 3

// ParsedPath is a request path prepared once for matching against many
// patterns (PatternIndex): checked, and decoded segment by segment.
type ParsedPath struct {
	// segs are the decoded segments of the escaped path, split before
	// decoding so that an encoded slash stays in its segment.
	segs []string
}

// ParseRequestPath prepares an escaped request path (r.URL.EscapedPath())
// for MatchParsed. It refuses, before decoding, a path longer than any
// route's escaped form can be, and then a path whose decoded form
// ValidateRoute refuses (over MaxRouteLength characters, '..', ...): no
// pattern matches those.
func ParseRequestPath(escapedPath string) (ParsedPath, bool) {
	if len(escapedPath) > maxEscapedRoute {
		return ParsedPath{}, false
	}
	decoded, err := RequestPath(escapedPath)
	if err != nil || ValidateRoute(decoded) != nil {
		return ParsedPath{}, false
	}
	segs := strings.Split(escapedPath[1:], "/")
	for i, raw := range segs {
		if segs[i], err = url.PathUnescape(raw); err != nil {
			return ParsedPath{}, false
		}
	}
	return ParsedPath{segs: segs}, true
}

// MatchParsed is Match of a path ParseRequestPath prepared. It allocates
// only for a path it matches.
func (p *Pattern) MatchParsed(rp ParsedPath) (map[string]string, bool) {
	segs := rp.segs
	n := len(p.segs)
	if p.rest == "" && len(segs) != n || p.rest != "" && len(segs) <= n {
		return nil, false
	}
	for i, seg := range p.segs {
		switch {
		case !seg.param && segs[i] != seg.lit:
			return nil, false
		case seg.param && checkValue(segs[i]) != nil:
			return nil, false
		}
	}
	var rest string
	if p.rest != "" {
		size := len(segs) - n - 1
		for _, v := range segs[n:] {
			if checkValue(v) != nil {
				return nil, false
			}
			size += len(v)
		}
		if size > MaxParamLength {
			return nil, false
		}
		rest = strings.Join(segs[n:], "/")
	}
	params := make(map[string]string, len(p.names))
	for i, seg := range p.segs {
		if seg.param {
			params[seg.name] = segs[i]
		}
	}
	if p.rest != "" {
		params[p.rest] = rest
	}
	if !p.allows(params) {
		return nil, false
	}
	return params, true
}

// MatchRoute matches a decoded route (as spec.route holds it) against the
// pattern, as Match matches the request path that route is served at; the
// route must also be the one Path gives back for the values, so that one
// path has one spelling.
func (p *Pattern) MatchRoute(decoded string) (map[string]string, bool) {
	if !strings.HasPrefix(decoded, "/") {
		return nil, false
	}
	params, ok := p.Match(EscapeRoute(decoded))
	if !ok {
		return nil, false
	}
	if again, err := p.Path(params); err != nil || again != decoded {
		return nil, false
	}
	return params, true
}

// checkValue accepts one segment's worth of parameter value.
func checkValue(v string) error {
	switch {
	case v == "":
		return errValueEmpty
	case v == "." || v == "..":
		return errValueDots
	case strings.Contains(v, "/"):
		return errValueSlash
	case strings.Contains(v, `\`):
		return errValueBackslash
	case len(v) > MaxParamLength:
		return errValueLong
	case !utf8.ValidString(v):
		return errValueUTF8
	case strings.ContainsFunc(v, unicode.IsControl):
		return errValueControl
	}
	return nil
}

// checkRest accepts a value of one or more segments, each as checkValue
// accepts it.
func checkRest(v string) error {
	if len(v) > MaxParamLength {
		return errValueLong
	}
	for seg := range strings.SplitSeq(v, "/") {
		if err := checkValue(seg); err != nil {
			return err
		}
	}
	return nil
}

// Path returns the route (decoded, as spec.route holds it) that the
// pattern gives for params, which must name each parameter of the pattern
// and no other, with values Match could have returned.
func (p *Pattern) Path(params map[string]string) (string, error) {
	for name := range params {
		if !slices.Contains(p.names, name) {
			return "", fmt.Errorf("pattern %q has no parameter {%s}", p.s, name)
		}
	}
	var b strings.Builder
	for _, seg := range p.segs {
		b.WriteByte('/')
		if !seg.param {
			b.WriteString(seg.lit)
			continue
		}
		v, ok := params[seg.name]
		if !ok {
			return "", fmt.Errorf("pattern %q: parameter {%s} has no value", p.s, seg.name)
		}
		if err := checkValue(v); err != nil {
			return "", fmt.Errorf("pattern %q: parameter {%s}: %w", p.s, seg.name, err)
		}
		b.WriteString(v)
	}
	if p.rest != "" {
		v, ok := params[p.rest]
		if !ok {
			return "", fmt.Errorf("pattern %q: parameter {%s...} has no value", p.s, p.rest)
		}
		if err := checkRest(v); err != nil {
			return "", fmt.Errorf("pattern %q: parameter {%s...}: %w", p.s, p.rest, err)
		}
		b.WriteByte('/')
		b.WriteString(v)
	}
	route := b.String()
	if err := ValidateRoute(route); err != nil {
		return "", fmt.Errorf("pattern %q gives route %q: %w", p.s, route, err)
	}
	return route, nil
}

// Overlaps reports whether p and q have the same shape once parameter
// names are ignored (/products/{id} and /products/{slug}), so that they
// match the same paths and two sets using them would conflict.
func (p *Pattern) Overlaps(q *Pattern) bool {
	if len(p.segs) != len(q.segs) || (p.rest == "") != (q.rest == "") {
		return false
	}
	for i, s := range p.segs {
		t := q.segs[i]
		if s.param != t.param || s.lit != t.lit {
			return false
		}
	}
	return true
}

// templatePart is literal text of an origin URL template, or a reference
// to a parameter.
type templatePart struct {
	text  string
	name  string
	ref   bool
	query bool
}

// parseTemplate splits an origin URL template into text and {name}
// references, which may appear in the path, query or fragment only.
func parseTemplate(t string) ([]templatePart, error) {
	i := strings.Index(t, "://")
	if i <= 0 {
		return nil, fmt.Errorf("origin URL template %q must be an absolute URL such as https://origin/products/{id}", t)
	}
	authEnd := i + 3
	if j := strings.IndexAny(t[authEnd:], "/?#"); j >= 0 {
		authEnd += j
	} else {
		authEnd = len(t)
	}
	if strings.ContainsAny(t[:authEnd], "{}") {
		return nil, fmt.Errorf("origin URL template %q: parameters may appear only in the path, query or fragment, never in the scheme or host", t)
	}
	parts := []templatePart{{text: t[:authEnd]}}
	query, start := false, authEnd
	for k := authEnd; k < len(t); k++ {
		switch t[k] {
		case '?':
			query = true
		case '#':
			query = false
		case '}':
			return nil, fmt.Errorf("origin URL template %q: '}' without '{'", t)
		case '{':
			end := strings.IndexByte(t[k:], '}')
			if end < 0 {
				return nil, fmt.Errorf("origin URL template %q: '{' without '}'", t)
			}
			inner := t[k+1 : k+end]
			if strings.Contains(inner, "{") {
				return nil, fmt.Errorf("origin URL template %q: '{' inside a parameter", t)
			}
			name, _ := strings.CutSuffix(inner, "...")
			if err := validName(name); err != nil {
				return nil, fmt.Errorf("origin URL template %q: %w", t, err)
			}
			parts = append(parts, templatePart{text: t[start:k]}, templatePart{name: name, ref: true, query: query})
			k += end
			start = k + 1
		}
	}
	parts = append(parts, templatePart{text: t[start:]})
	return parts, nil
}

// TemplateNames returns the parameter names an origin URL template refers
// to, as {name} (or {name...}), each once, in order of first use.
func TemplateNames(template string) ([]string, error) {
	parts, err := parseTemplate(template)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range parts {
		if p.ref && !slices.Contains(names, p.name) {
			names = append(names, p.name)
		}
	}
	return names, nil
}

// Expand substitutes params into an origin URL template: in the path each
// {name} becomes url.PathEscape of its value, a value of several segments
// (a rest parameter) escaped segment by segment with its slashes kept; in
// the query it becomes url.QueryEscape of its value. Values must be ones
// Match could have returned, so that no value can add a '..' segment or
// reach another host.
func Expand(template string, params map[string]string) (string, error) {
	parts, err := parseTemplate(template)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		if !p.ref {
			b.WriteString(p.text)
			continue
		}
		v, ok := params[p.name]
		if !ok {
			return "", fmt.Errorf("origin URL template %q refers to {%s}, which has no value", template, p.name)
		}
		if err := checkRest(v); err != nil {
			return "", fmt.Errorf("origin URL template %q: parameter {%s}: %w", template, p.name, err)
		}
		if p.query {
			b.WriteString(url.QueryEscape(v))
			continue
		}
		for i, seg := range strings.Split(v, "/") {
			if i > 0 {
				b.WriteByte('/')
			}
			b.WriteString(url.PathEscape(seg))
		}
	}
	return b.String(), nil
}

// MatchTemplate is the inverse of Expand: the parameter values that Expand
// turns template into rawURL, and true, if there are any. The scheme and
// host compare without regard to case; everything after them must be
// exactly what Expand writes, so a URL has one reading. A parameter used
// twice must have one value.
func MatchTemplate(template, rawURL string) (map[string]string, bool) {
	parts, err := parseTemplate(template)
	if err != nil {
		return nil, false
	}
	var re strings.Builder
	re.WriteString("^(?i:")
	re.WriteString(regexp.QuoteMeta(parts[0].text))
	re.WriteString(")")
	var refs []templatePart
	for _, p := range parts[1:] {
		switch {
		case !p.ref:
			re.WriteString(regexp.QuoteMeta(p.text))
		case p.query:
			re.WriteString("([^&#]+?)")
			refs = append(refs, p)
		default:
			re.WriteString("([^?#]+?)")
			refs = append(refs, p)
		}
	}
	re.WriteString("$")
	m := regexp.MustCompile(re.String()).FindStringSubmatch(rawURL)
	if m == nil {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range refs {
		unescape := url.PathUnescape
		if p.query {
			unescape = url.QueryUnescape
		}
		v, err := unescape(m[i+1])
		if err != nil {
			return nil, false
		}
		if old, ok := params[p.name]; ok && old != v {
			return nil, false
		}
		params[p.name] = v
	}
	again, err := Expand(template, params)
	auth := len(parts[0].text)
	if err != nil || len(again) != len(rawURL) || !strings.EqualFold(again[:auth], rawURL[:auth]) || again[auth:] != rawURL[auth:] {
		return nil, false
	}
	return params, true
}
