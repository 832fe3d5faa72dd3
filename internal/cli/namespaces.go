package cli

import (
	"fmt"
	"strings"
)

// SplitNamespaces parses a --namespaces value: comma-separated names, empty
// for all namespaces.
func SplitNamespaces(v string) ([]string, error) {
	var out []string
	for ns := range strings.SplitSeq(v, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			continue
		}
		if strings.ContainsAny(ns, " /") {
			return nil, fmt.Errorf("invalid namespace %q in --namespaces", ns)
		}
		out = append(out, ns)
	}
	return out, nil
}
