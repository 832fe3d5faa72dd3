#!/usr/bin/env bash
# Copies the generated CRD and RBAC rules into the Helm chart, so the chart
# and config/ install the same API and permissions. `make manifests` runs it;
# `make verify` fails when the copies are stale.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHART=$ROOT/charts/isr-operator

mkdir -p "$CHART/files/crds" "$CHART/files/rbac"
rm -f "$CHART"/files/crds/*.yaml
cp "$ROOT"/config/crd/bases/*.yaml "$CHART/files/crds/"
cp "$ROOT/config/rbac/manager/role.yaml" "$CHART/files/rbac/manager-role.yaml"
cp "$ROOT/config/rbac/server/role.yaml" "$CHART/files/rbac/server-role.yaml"
