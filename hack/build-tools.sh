#!/usr/bin/env bash
# Builds the pinned binaries that tests, code generation and `make demo` need
# into bin/ (the control plane into bin/k8s, which is KUBEBUILDER_ASSETS).
# Each is built from the Go module proxy once per version: a binary whose
# stamp file names the wanted version is kept as it is.
#
# usage: hack/build-tools.sh [tool ...]   (default: all)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
KUBECTL_VERSION=v0.37.2
CONTROLLER_TOOLS_VERSION=v0.23.0
HELM_VERSION=v3.22.0
VERSITYGW_VERSION=v1.8.0

mkdir -p "$BIN/k8s"
export CGO_ENABLED=0

# fresh NAME VERSION PATH: true when PATH was built at VERSION.
fresh() { [ -x "$3" ] && [ "$(cat "$3.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" > "$3.version"; echo "built $1 $2 -> ${3#"$ROOT"/}"; }

# k8s_ldflags VERSION: what `--version` reports, so version-skew checks behave.
k8s_ldflags() {
	local v=$1 minor
	minor=$(echo "$v" | cut -d. -f2)
	echo "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
}

build_kube_apiserver() {
	local out=$BIN/k8s/kube-apiserver
	fresh kube-apiserver $K8S_VERSION "$out" && return
	echo "building kube-apiserver $K8S_VERSION (a few minutes the first time)"
	(cd "$ROOT/hack/tools/kube-apiserver" && go build -ldflags "$(k8s_ldflags $K8S_VERSION)" -o "$out" k8s.io/kubernetes/cmd/kube-apiserver)
	stamp kube-apiserver $K8S_VERSION "$out"
}

build_etcd() {
	local out=$BIN/k8s/etcd
	fresh etcd $ETCD_VERSION "$out" && return
	(cd "$ROOT/hack/tools/etcd" && go build -ldflags "-s -w" -o "$out" .)
	stamp etcd $ETCD_VERSION "$out"
}

build_kubectl() {
	local out=$BIN/k8s/kubectl
	fresh kubectl $KUBECTL_VERSION "$out" && return
	(cd "$ROOT/hack/tools/kubectl" && go build -ldflags "$(k8s_ldflags $K8S_VERSION)" -o "$out" .)
	stamp kubectl $KUBECTL_VERSION "$out"
}

# go_install NAME PACKAGE VERSION: a tool whose module builds with `go install`.
go_install() {
	local out=$BIN/$1
	fresh "$1" "$3" "$out" && return
	GOBIN=$BIN go install -ldflags "-s -w" "$2@$3"
	stamp "$1" "$3" "$out"
}

build_controller_gen() { go_install controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen $CONTROLLER_TOOLS_VERSION; }
build_helm() { go_install helm helm.sh/helm/v3/cmd/helm $HELM_VERSION; }
build_versitygw() { go_install versitygw github.com/versity/versitygw/cmd/versitygw $VERSITYGW_VERSION; }

tools=("$@")
if [ ${#tools[@]} -eq 0 ]; then
	# kube-apiserver takes longest and leaves a core idle in its serial
	# stretches (big packages, linking): build it beside the others.
	build_kube_apiserver &
	apiserver=$!
	tools=(etcd kubectl controller-gen helm)
fi
for t in "${tools[@]}"; do
	case $t in
	kube-apiserver) build_kube_apiserver ;;
	etcd) build_etcd ;;
	kubectl) build_kubectl ;;
	controller-gen) build_controller_gen ;;
	helm) build_helm ;;
	versitygw) build_versitygw ;;
	*) echo "unknown tool $t (known: kube-apiserver etcd kubectl controller-gen helm versitygw)" >&2; exit 2 ;;
	esac
done
if [ -n "${apiserver:-}" ]; then
	wait "$apiserver"
fi
