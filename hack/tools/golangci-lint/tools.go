//go:build tools

// Package tools pins golangci-lint and kube-api-linter for `make lint`.
package tools

import _ "sigs.k8s.io/kube-api-linter/cmd/golangci-lint-kube-api-linter"
