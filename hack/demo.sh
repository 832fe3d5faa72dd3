#!/usr/bin/env bash
# Runs isr-operator locally: a control plane from bin/k8s, the manager, the
# server, a demo origin, and the sample pages. Ctrl-C stops all of it.
# Ports can be changed with DEMO_SERVER_PORT and DEMO_ORIGIN_PORT.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=$ROOT/bin
DEMO=$ROOT/.demo
SERVER_PORT=${DEMO_SERVER_PORT:-8000}
ORIGIN_PORT=${DEMO_ORIGIN_PORT:-8088}
API_PORT=${DEMO_API_PORT:-8001}
# The revalidate API's bearer token in the demo; a real one comes from a
# random generator.
API_TOKEN=demo-token
export KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-$BIN/k8s}
export KUBECONFIG=$DEMO/kubeconfig
KUBECTL=$BIN/k8s/kubectl

mkdir -p "$DEMO"
rm -f "$KUBECONFIG"
pids=()
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "stopping the demo"
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

for port in "$SERVER_PORT" "$ORIGIN_PORT" "$API_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is in use; set DEMO_SERVER_PORT / DEMO_ORIGIN_PORT / DEMO_API_PORT to free ones" >&2
		exit 1
	fi
done

echo "starting the control plane (logs in .demo/)"
"$BIN/controlplane" --write-kubeconfig "$KUBECONFIG" --crds config/crd/bases >"$DEMO/controlplane.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
	[ -f "$KUBECONFIG" ] && break
	kill -0 "${pids[0]}" 2>/dev/null || { cat "$DEMO/controlplane.log" >&2; exit 1; }
	sleep 0.5
done
[ -f "$KUBECONFIG" ] || { echo "control plane did not start; see .demo/controlplane.log" >&2; exit 1; }

"$BIN/demo-origin" --listen "127.0.0.1:$ORIGIN_PORT" >"$DEMO/origin.log" 2>&1 &
pids+=($!)
# The demo origin listens on loopback, which the origin guard refuses unless
# allowed, exactly as a user allows a same-pod origin.
"$BIN/manager" --metrics-bind-address 127.0.0.1:0 --health-probe-bind-address 127.0.0.1:0 \
	--allow-origin 127.0.0.1 \
	>"$DEMO/manager.log" 2>&1 &
pids+=($!)
"$KUBECTL" create secret generic isr-revalidate --from-literal=token="$API_TOKEN" >/dev/null
"$BIN/server" --listen-address "127.0.0.1:$SERVER_PORT" --metrics-bind-address 127.0.0.1:0 \
	--health-probe-bind-address 127.0.0.1:0 \
	--revalidate-bind-address "127.0.0.1:$API_PORT" --revalidate-secret default/isr-revalidate \
	>"$DEMO/server.log" 2>&1 &
pids+=($!)

# The samples point at the demo origin's default port.
for f in config/samples/*.yaml; do
	echo ---
	sed "s#http://127.0.0.1:8088#http://127.0.0.1:$ORIGIN_PORT#" "$f"
done | "$KUBECTL" apply -f -
"$KUBECTL" wait --for=condition=Ready staticpage --all --timeout=60s

cat <<EOT

isr-operator is running. In another terminal:

  export KUBECONFIG=$KUBECONFIG
  alias kubectl=$KUBECTL

  kubectl get staticpages -w                      # watch renders (add -o wide for host, mode, reason)
  curl -i http://127.0.0.1:$SERVER_PORT/products/42          # the page, with Age, ETag and Cache-Status
  curl -s --compressed -o /dev/null -w '%{http_code}\n' http://127.0.0.1:$SERVER_PORT/
  kubectl annotate staticpage product-42 isr-operator.io/revalidate="\$(date +%s)" --overwrite
  kubectl annotate staticpage -l shop=products isr-operator.io/revalidate="\$(date +%s)" --overwrite
  kubectl describe staticpage home                # conditions and events
  curl -s -X POST http://127.0.0.1:$API_PORT/revalidate -H 'Authorization: Bearer $API_TOKEN' \
    -H 'Content-Type: application/json' -d '{"paths": ["/products/42"], "wait": true}'   # as a CMS would

Logs: .demo/*.log. Press Ctrl-C to stop everything.
EOT
wait -n "${pids[@]}" || true
echo "a demo process exited; see .demo/*.log" >&2
