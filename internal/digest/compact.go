package digest

// Compact holds a digest text in 32 bytes when it parses, as every
// render's does, and as text otherwise: the server's table keeps one per
// page, and the text takes 80 bytes of heap on top of the string header.
// The zero value is the empty digest.
type Compact struct {
	sum Sum
	// text is a digest not in the form sum holds; nil when sum holds it.
	text *string
}

// NewCompact holds s.
func NewCompact(s string) Compact {
	var d Compact
	if s == "" {
		return d
	}
	if !parse(s, &d.sum) || d.sum == (Sum{}) {
		// The zero sum stands for no digest: a digest of zeros is text.
		text := s
		d.sum, d.text = Sum{}, &text
	}
	return d
}

// String is the digest text d holds.
func (d Compact) String() string {
	if d.text != nil {
		return *d.text
	}
	if d.sum == (Sum{}) {
		return ""
	}
	return d.sum.String()
}

// Is reports whether d holds s, without building d's text.
func (d Compact) Is(s string) bool {
	if d.text != nil {
		return *d.text == s
	}
	var sum Sum
	if s == "" {
		return d.sum == sum
	}
	return parse(s, &sum) && sum == d.sum && sum != Sum{}
}

// IsZero reports whether d is the empty digest.
func (d Compact) IsZero() bool { return d.text == nil && d.sum == Sum{} }
