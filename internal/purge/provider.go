package purge

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// Provider is a SaaS CDN's purge API, set up for one CDN object with its
// credentials. The Purger splits a plan into requests of at most Limits
// items and sends each with Tags or URLs, retrying an *Error that says so.
type Provider interface {
	// Limits are the most tags and the most URLs one request may name.
	Limits() (tags, urls int)
	// Tags purges every object carrying any of tags.
	Tags(ctx context.Context, tags []string) error
	// URLs purges the objects cached for these hosts and paths.
	URLs(ctx context.Context, urls []HostPath) error
}

// ErrNoHost is the error of a URL purge, by a provider that names URLs
// with their host, of a page for any host when the CDN lists no
// spec.hosts to name it on.
var ErrNoHost = errors.New("a page for any host is purged by URL only on spec.hosts, and the CDN lists none")

// AbsoluteURLs are the https:// URLs of hps, which most SaaS CDNs purge
// by; ErrNoHost when one has no host.
func AbsoluteURLs(hps []HostPath) ([]string, error) {
	out := make([]string, 0, len(hps))
	for _, hp := range hps {
		if hp.Host == "" {
			return nil, ErrNoHost
		}
		u := url.URL{Scheme: "https", Host: hp.Host, Path: hp.Path}
		out = append(out, u.String())
	}
	return out, nil
}

// credential is the value of key in a provider's Secret, or an error
// naming what is missing.
func credential(secret map[string][]byte, key string) (string, error) {
	v := string(trimNewline(secret[key]))
	if v == "" {
		return "", fmt.Errorf("the CDN's Secret has no %q", key)
	}
	return v, nil
}

// trimNewline drops the trailing newline `kubectl create secret
// --from-file` often carries.
func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
