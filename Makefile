# isr-operator: Incremental Static Regeneration for any origin, on Kubernetes.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Where the pinned tools and the local control plane binaries are built.
BIN := $(CURDIR)/bin
# envtest, the e2e tests and the demo find kube-apiserver, etcd and kubectl here.
export KUBEBUILDER_ASSETS := $(BIN)/k8s
CONTROLLER_GEN := $(BIN)/controller-gen
CRD_REF_DOCS := $(BIN)/crd-ref-docs
GOLANGCI_LINT := $(BIN)/golangci-lint
LDFLAGS := -X github.com/isr-operator/isr-operator/internal/version.Version=$(VERSION)
# Extra arguments for go test, e.g. GO_TEST_FLAGS=-v. test-e2e passes them
# after the package, so that they may hold Ginkgo's flags too; the user
# flow's specs are ordered, so a focus names the install and the binaries'
# start besides the specs it runs, e.g.
# GO_TEST_FLAGS="-ginkgo.v '-ginkgo.focus=installs with helm|runs the manager and the server|tenants. hosts'".
GO_TEST_FLAGS ?=

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: tools-controller-gen ## Generate the CRD and RBAC manifests from the Go markers, and copy them into the chart.
	$(CONTROLLER_GEN) rbac:roleName=isr-operator-manager crd:allowDangerousTypes=false paths="./api/...;./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac/manager
	$(CONTROLLER_GEN) rbac:roleName=isr-operator-server paths="./internal/server/...;./internal/revalidateapi/...;./internal/webhook/..." output:rbac:artifacts:config=config/rbac/server
	hack/sync-chart.sh

.PHONY: generate
generate: tools-controller-gen ## Generate the deepcopy code.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: api-docs
api-docs: tools-crd-ref-docs ## Generate docs/api.md from the Go types in api/v1alpha1 (config and templates in hack/api-docs).
	$(CRD_REF_DOCS) --log-level=WARN --source-path=./api --config=hack/api-docs/config.yaml --renderer=markdown --templates-dir=hack/api-docs/templates --output-path=docs/api.md

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -w $(shell git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: tools-golangci-lint ## Run golangci-lint (govet, staticcheck, errcheck, revive, gocritic; kube-api-linter on api/).
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: manifests generate api-docs ## Fail if generated files (CRDs, RBAC, deepcopy, docs/api.md, docs/grafana-dashboard.json), formatting or go.mod/go.sum are stale, or git tracks a binary or a file over 1 MiB.
	@hack/verify-tracked-files.sh
	@go mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit"; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed on:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@git diff --exit-code -- config api charts docs/api.md docs/grafana-dashboard.json || { echo "generated files are stale: run 'make manifests generate api-docs' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- config api charts docs/api.md docs/grafana-dashboard.json)" || { echo "untracked generated files:"; git status --porcelain -- config api charts docs/api.md docs/grafana-dashboard.json; exit 1; }

.PHONY: test
test: tools varnish vet test-rules ## Run unit tests, the envtest suite (real kube-apiserver and etcd, real Varnish) and the alert tests.
	go test $(GO_TEST_FLAGS) ./...

# The alerts' one source, and promtool's unit tests of it.
RULES := charts/isr-operator/files/monitoring/prometheus-rules.yaml

.PHONY: test-rules
test-rules: ## Check the alert rules and run their unit tests with promtool (Debian's prometheus package, installed when missing).
	@hack/install-prometheus.sh
	promtool check rules $(RULES)
	promtool test rules test/monitoring/alerts.test.yaml

# Every package's tests with -short: those that start a kube-apiserver or
# versitygw skip themselves, so what runs needs no control plane.
.PHONY: test-race
test-race: tools ## Run the tests that need no control plane or S3 server (go test -short) with the race detector.
	go test -race -short $(GO_TEST_FLAGS) ./...

.PHONY: varnish
varnish: ## Install Debian's varnish and varnish-modules (xkey) when missing, for the tests with a real Varnish.
	hack/varnish/install.sh

.PHONY: test-e2e
test-e2e: tools ## Run the user-flow tests: helm, kubectl and the real binaries on a local control plane.
	go test -tags e2e -count=1 -timeout 20m ./test/e2e/ $(GO_TEST_FLAGS)

# How much each fuzz target runs in `make fuzz`: a count of executions (`Nx`),
# since a duration can end with a spurious "context deadline exceeded" on a
# loaded machine (Go 1.26's fuzz coordinator, golang/go#75804).
FUZZTIME ?= 30000x

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME executions (seed corpora in testdata/fuzz run in every `make test`).
	go test -run '^$$' -fuzz '^FuzzParseRequest$$' -fuzztime $(FUZZTIME) ./internal/revalidateapi/
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./internal/revalidateapi/
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./internal/webhook/signature/
	go test -run '^$$' -fuzz '^FuzzRoutePath$$' -fuzztime $(FUZZTIME) ./internal/server/
	go test -run '^$$' -fuzz '^FuzzNormalizeHost$$' -fuzztime $(FUZZTIME) ./internal/route/
	go test -run '^$$' -fuzz '^FuzzRequestPath$$' -fuzztime $(FUZZTIME) ./internal/route/
	go test -run '^$$' -fuzz '^FuzzPatternMatch$$' -fuzztime $(FUZZTIME) ./internal/route/

# The packages `make mutation` mutates: those whose tests need no control
# plane (their tests run with -short, through GOFLAGS).
MUTATION_PACKAGES ?= ./internal/render ./internal/route ./internal/revalidateapi

.PHONY: mutation
mutation: tools-gremlins ## Mutation testing (gremlins) of MUTATION_PACKAGES; slow, not in CI. See docs/mutation.md.
	@for p in $(MUTATION_PACKAGES); do echo "== $$p"; GOFLAGS=-short $(BIN)/gremlins unleash --workers 1 --timeout-coefficient 10 $$p || exit 1; done

# Pages, storage and server cache of `make bench-scale`.
PAGES ?= 10000
STORAGE ?= s3
CACHE_SIZE ?= 64Mi
# A directory for the manager's and server's heap profiles; empty: none.
PROFILES ?=

.PHONY: bench-scale
bench-scale: tools build ## Apply PAGES pages on a local control plane and versitygw; print served-all time, etcd growth, memory, restarts, annotate-to-live.
	go run ./hack/bench-scale -pages $(PAGES) -storage $(STORAGE) -cache-size $(CACHE_SIZE) -bin $(BIN) -profiles "$(PROFILES)"

.PHONY: bench-sets
bench-sets: tools build ## A StaticPageSet on a local control plane, 2 servers, a 50 ms origin: first-request latency, one fetch for many requests, absent ids.
	go run ./hack/bench-scale -scenario sets -bin $(BIN)

.PHONY: bench-tarpit
bench-tarpit: tools build ## Render latency of a page of one namespace, alone and while 8 pages of another hang on tarpits (default caps, then caps off).
	go run ./hack/bench-scale -scenario tarpit -firsts 20 -timeout 5m -bin $(BIN)

.PHONY: bench-webhooks
bench-webhooks: tools build ## A WebhookReceiver on a local control plane: delivery to new content live (p50, p99 of 100), refused deliveries per second and page p99 meanwhile.
	go run ./hack/bench-scale -scenario webhooks -bin $(BIN)

.PHONY: bench-cdn
bench-cdn: tools build varnish ## A real Varnish (CDN TTL 1h) purged by a CDN object, 2 servers: annotate to new content through it (p50, p99 of 50), 1,000 tagged pages by URL and by tag.
	go run ./hack/bench-scale -scenario cdn -timeout 5m -bin $(BIN)

# How long each arm of `make bench-abuse` sends its requests.
ABUSE_DURATION ?= 10m

.PHONY: bench-abuse
bench-abuse: tools build ## Random spellings of one set id at 200 req/s on 2 servers (ConfigMaps), with and without a constraint; RSS with 5,000 idle connections.
	go run ./hack/bench-scale -scenario abuse -duration $(ABUSE_DURATION) -cache-size 2Mi -max-pages 100 -page-size 32768 -bin $(BIN)

.PHONY: bench
bench: ## Run the serving benchmarks.
	go test -run '^$$' -bench . -benchmem ./internal/server/

##@ Build

# The manager and the server are built static, as in the image, so that
# figures measured on bin/ have no libc mapped in.
.PHONY: build
build: ## Build the manager, server, demo origin and local control plane into bin/.
	CGO_ENABLED=0 go build -ldflags "$(LDFLAGS)" -o $(BIN)/manager ./cmd/manager
	CGO_ENABLED=0 go build -ldflags "$(LDFLAGS)" -o $(BIN)/server ./cmd/server
	go build -o $(BIN)/demo-origin ./hack/demo-origin
	go build -o $(BIN)/controlplane ./hack/controlplane

# Where `make demo` keeps pages: STORAGE=configmap unless given on the command
# line or in the environment (STORAGE=s3: a local versitygw); the default
# above is bench-scale's.
DEMO_STORAGE = $(if $(filter command line environment,$(origin STORAGE)),$(STORAGE),configmap)

# MONITORING=1: `make demo` also starts Prometheus with the chart's alerts.
MONITORING ?=

# CDN=varnish: `make demo` also puts a local Varnish in front of the server,
# purged through a CDN object (docs/cdn.md).
CDN ?=

.PHONY: demo
demo: tools build ## Run everything locally: control plane, manager, server, demo origin, samples (STORAGE=s3: on a local versitygw; MONITORING=1: and Prometheus; CDN=varnish: behind a local Varnish).
	STORAGE=$(DEMO_STORAGE) MONITORING=$(MONITORING) CDN=$(CDN) hack/demo.sh

##@ Tools

.PHONY: tools
tools: ## Build kube-apiserver, etcd, kubectl, controller-gen, helm, versitygw, crd-ref-docs and golangci-lint into bin/ (once per version).
	hack/build-tools.sh

.PHONY: tools-controller-gen
tools-controller-gen:
	@hack/build-tools.sh controller-gen

.PHONY: tools-crd-ref-docs
tools-crd-ref-docs:
	@hack/build-tools.sh crd-ref-docs

.PHONY: tools-gremlins
tools-gremlins:
	@hack/build-tools.sh gremlins

.PHONY: tools-golangci-lint
tools-golangci-lint:
	@hack/build-tools.sh golangci-lint

.PHONY: clean
clean: ## Remove built binaries (not the pinned tools).
	rm -f $(BIN)/manager $(BIN)/server $(BIN)/demo-origin $(BIN)/controlplane
