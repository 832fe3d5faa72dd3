#!/usr/bin/env bash
# Builds the pinned binaries that tests, code generation, lint and `make demo`
# need, and links them into bin/ (the control plane into bin/k8s, which is
# KUBEBUILDER_ASSETS).
#
# Each tool is built from the Go module proxy once per machine and version
# into a cache outside the clone, ISR_TOOLS_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/isr-operator/tools), so a second clone and every
# CI run find them there and take seconds. On a machine that has none of them
# yet, the control plane (kube-apiserver, etcd, kubectl) is first fetched as
# prebuilt envtest assets with setup-envtest, as kubebuilder projects do, and
# built from source only when that fails (no network, no assets for the
# version); the script says which.
#
# usage: hack/build-tools.sh [tool ...]   (default: all)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
CACHE=${ISR_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/isr-operator/tools}
K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
KUBECTL_VERSION=v0.37.2
CONTROLLER_TOOLS_VERSION=v0.23.0
HELM_VERSION=v3.22.0
VERSITYGW_VERSION=v1.8.0
CRD_REF_DOCS_VERSION=v0.3.0
# The control plane's prebuilt envtest assets, tried before building it from
# source (setup-envtest is the kubebuilder tool that fetches them).
SETUP_ENVTEST_VERSION=v0.25.2
ENVTEST_K8S_VERSION=${K8S_VERSION#v}
# Mutation testing (make mutation); built only when asked for.
GREMLINS_VERSION=v0.6.0
# golangci-lint with kube-api-linter built in; both pinned in hack/tools/golangci-lint/go.mod.
GOLANGCI_LINT_VERSION=v2.15.0-kal-20260716143926

mkdir -p "$BIN/k8s" "$CACHE"
export CGO_ENABLED=0
START=$(date +%s)

# k8s_ldflags VERSION: what `--version` reports, so version-skew checks behave.
k8s_ldflags() {
	local v=$1 minor
	minor=$(echo "$v" | cut -d. -f2)
	echo "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
}

# provide NAME VERSION DEST BUILD...: links DEST to the cached NAME at VERSION,
# running BUILD (with $OUT set to the cache path) only when it is not cached.
provide() {
	local name=$1 version=$2 dest=$3
	shift 3
	local out=$CACHE/$name/$version/$name
	if [ ! -x "$out" ]; then
		local t0
		t0=$(date +%s)
		echo "building $name $version into $CACHE (minutes the first time on a machine; cached afterwards)"
		mkdir -p "$(dirname "$out")"
		OUT=$out.tmp "$@"
		mv -f "$out.tmp" "$out"
		echo "built $name $version in $(($(date +%s) - t0))s (total $(($(date +%s) - START))s)"
	fi
	if [ "$(readlink "$dest" 2>/dev/null)" != "$out" ]; then
		ln -sfn "$out" "$dest"
		rm -f "$dest.version"
	fi
}

go_build_in() { # DIR PACKAGE LDFLAGS
	(cd "$ROOT/hack/tools/$1" && go build -ldflags "$3" -o "$OUT" "$2")
}
go_install_tool() { # PACKAGE@VERSION
	local tmp
	tmp=$(mktemp -d)
	GOBIN=$tmp go install -ldflags "-s -w" "$1"
	mv "$tmp"/* "$OUT"
	rmdir "$tmp"
}

build_kube_apiserver() { provide kube-apiserver $K8S_VERSION "$BIN/k8s/kube-apiserver" go_build_in kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$(k8s_ldflags $K8S_VERSION)"; }
build_etcd() { provide etcd $ETCD_VERSION "$BIN/k8s/etcd" go_build_in etcd . "-s -w"; }
build_kubectl() { provide kubectl $KUBECTL_VERSION "$BIN/k8s/kubectl" go_build_in kubectl . "$(k8s_ldflags $K8S_VERSION)"; }
build_controller_gen() { provide controller-gen $CONTROLLER_TOOLS_VERSION "$BIN/controller-gen" go_install_tool sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION; }
build_helm() { provide helm $HELM_VERSION "$BIN/helm" go_install_tool helm.sh/helm/v3/cmd/helm@$HELM_VERSION; }
build_versitygw() { provide versitygw $VERSITYGW_VERSION "$BIN/versitygw" go_install_tool github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION; }
build_crd_ref_docs() { provide crd-ref-docs $CRD_REF_DOCS_VERSION "$BIN/crd-ref-docs" go_install_tool github.com/elastic/crd-ref-docs@$CRD_REF_DOCS_VERSION; }
build_gremlins() { provide gremlins $GREMLINS_VERSION "$BIN/gremlins" go_install_tool github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION; }
build_golangci_lint() { provide golangci-lint $GOLANGCI_LINT_VERSION "$BIN/golangci-lint" go_build_in golangci-lint sigs.k8s.io/kube-api-linter/cmd/golangci-lint-kube-api-linter "-s -w"; }

# fetch_envtest_assets: links bin/k8s to prebuilt kube-apiserver, etcd and
# kubectl for K8S_VERSION, fetched once with setup-envtest into the cache;
# fails (and links nothing) when they cannot be had, e.g. with no network.
# Skipped when the control plane was already built from source here.
fetch_envtest_assets() {
	local dir=$CACHE/envtest/$ENVTEST_K8S_VERSION
	if [ -x "$CACHE/kube-apiserver/$K8S_VERSION/kube-apiserver" ]; then
		return 1
	fi
	if [ ! -x "$dir/kube-apiserver" ] || [ ! -x "$dir/etcd" ] || [ ! -x "$dir/kubectl" ]; then
		provide setup-envtest $SETUP_ENVTEST_VERSION "$BIN/setup-envtest" go_install_tool sigs.k8s.io/controller-runtime/tools/setup-envtest@$SETUP_ENVTEST_VERSION
		echo "fetching prebuilt envtest assets for Kubernetes $ENVTEST_K8S_VERSION with setup-envtest"
		local assets
		if ! assets=$(timeout 300 "$BIN/setup-envtest" use "$ENVTEST_K8S_VERSION" --bin-dir "$CACHE/envtest/setup" -p path 2>&1); then
			echo "prebuilt envtest assets unavailable: $(echo "$assets" | tail -1)"
			return 1
		fi
		if [ ! -x "$assets/kube-apiserver" ] || [ ! -x "$assets/etcd" ] || [ ! -x "$assets/kubectl" ]; then
			echo "prebuilt envtest assets incomplete in $assets"
			return 1
		fi
		mkdir -p "$dir"
		cp "$assets/kube-apiserver" "$assets/etcd" "$assets/kubectl" "$dir/"
	fi
	for t in kube-apiserver etcd kubectl; do
		ln -sfn "$dir/$t" "$BIN/k8s/$t"
	done
	echo "control plane: prebuilt envtest assets for Kubernetes $ENVTEST_K8S_VERSION from $dir"
}

tools=("$@")
if [ ${#tools[@]} -eq 0 ]; then
	tools=(controller-gen helm versitygw crd-ref-docs golangci-lint)
	if ! fetch_envtest_assets; then
		if [ ! -x "$CACHE/kube-apiserver/$K8S_VERSION/kube-apiserver" ]; then
			echo "building the control plane (kube-apiserver, etcd, kubectl) from source: about 20 minutes on 2 cores, once per machine"
		fi
		# kube-apiserver takes longest and leaves a core idle in its serial
		# stretches (big packages, linking): build it beside the others.
		build_kube_apiserver &
		apiserver=$!
		tools=(etcd kubectl "${tools[@]}")
	fi
fi
for t in "${tools[@]}"; do
	case $t in
	kube-apiserver) build_kube_apiserver ;;
	etcd) build_etcd ;;
	kubectl) build_kubectl ;;
	controller-gen) build_controller_gen ;;
	helm) build_helm ;;
	versitygw) build_versitygw ;;
	crd-ref-docs) build_crd_ref_docs ;;
	golangci-lint) build_golangci_lint ;;
	gremlins) build_gremlins ;;
	*) echo "unknown tool $t (known: kube-apiserver etcd kubectl controller-gen helm versitygw crd-ref-docs golangci-lint gremlins)" >&2; exit 2 ;;
	esac
done
if [ -n "${apiserver:-}" ]; then
	wait "$apiserver"
fi
