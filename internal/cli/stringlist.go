package cli

import "strings"

// StringList is a flag value that may be repeated and holds comma-separated
// items, for lists such as --allow-origin and --trusted-proxies.
type StringList []string

// String joins the items with commas, as they could be given back.
func (l *StringList) String() string { return strings.Join(*l, ",") }

// Set appends the comma-separated items of v, skipping empty ones.
func (l *StringList) Set(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}
