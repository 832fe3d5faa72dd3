// Package version holds the build's version, stamped by the Makefile.
package version

// Version is the release this binary was built from; set with
// -ldflags "-X github.com/isr-operator/isr-operator/internal/version.Version=v1.2.3".
var Version = "dev"

// UserAgent is sent to origins so their operators can tell renders apart
// from visitors.
func UserAgent() string { return "isr-operator/" + Version }
