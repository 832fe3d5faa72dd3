#!/usr/bin/env bash
# Runs isr-operator locally: a control plane from bin/k8s, the manager, the
# server, a demo origin, and the sample pages. Ctrl-C stops all of it.
# Ports can be changed with DEMO_SERVER_PORT, DEMO_ORIGIN_PORT, DEMO_API_PORT
# and DEMO_S3_PORT.
#
# STORAGE=configmap (the default) keeps pages in ConfigMaps. STORAGE=s3 also
# starts versitygw (bin/versitygw, from hack/build-tools.sh) with its posix
# backend in .demo/s3 and generated root credentials, creates the bucket
# "pages", and runs the manager and the server with --storage=s3.
#
# MONITORING=1 also starts Prometheus (Debian's prometheus package,
# installed by hack/install-prometheus.sh when missing) on
# DEMO_PROMETHEUS_PORT, scraping the manager's and the server's metrics
# (DEMO_MANAGER_METRICS_PORT, DEMO_SERVER_METRICS_PORT) with the chart's
# alert rules loaded.
#
# CDN=varnish also puts a real Varnish in front of the server: Debian's
# varnish and varnish-modules (installed by hack/varnish/install.sh when
# missing) run hack/varnish/default.vcl on DEMO_VARNISH_PORT, its backend
# pointed at the server's page port. A CDN object (provider varnish) in the
# samples' namespace names it, the server sends xkey tags and keeps pages
# in Varnish for an hour (CDN-Cache-Control), and the manager purges a page
# from Varnish once the server serves its new content.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=$ROOT/bin
DEMO=$ROOT/.demo
SERVER_PORT=${DEMO_SERVER_PORT:-8000}
ORIGIN_PORT=${DEMO_ORIGIN_PORT:-8088}
API_PORT=${DEMO_API_PORT:-8001}
S3_PORT=${DEMO_S3_PORT:-9000}
MONITORING=${MONITORING:-}
PROMETHEUS_PORT=${DEMO_PROMETHEUS_PORT:-9090}
MANAGER_METRICS_PORT=${DEMO_MANAGER_METRICS_PORT:-8080}
SERVER_METRICS_PORT=${DEMO_SERVER_METRICS_PORT:-8090}
VARNISH_PORT=${DEMO_VARNISH_PORT:-6081}
# varnishd, as the tests with a real Varnish find it.
VARNISHD=${ISR_VARNISHD:-/usr/sbin/varnishd}
CDN=${CDN:-}
case "$CDN" in
"" | varnish) ;;
*)
	echo "CDN must be empty or varnish, got $CDN" >&2
	exit 1
	;;
esac
STORAGE=${STORAGE:-configmap}
case "$STORAGE" in
configmap | s3) ;;
*)
	echo "STORAGE must be configmap or s3, got $STORAGE" >&2
	exit 1
	;;
esac
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

ports=("$SERVER_PORT" "$ORIGIN_PORT" "$API_PORT")
[ "$STORAGE" = s3 ] && ports+=("$S3_PORT")
# Metrics on fixed ports only when Prometheus scrapes them.
manager_metrics=127.0.0.1:0
server_metrics=127.0.0.1:0
if [ -n "$MONITORING" ]; then
	ports+=("$PROMETHEUS_PORT" "$MANAGER_METRICS_PORT" "$SERVER_METRICS_PORT")
	manager_metrics=127.0.0.1:$MANAGER_METRICS_PORT
	server_metrics=127.0.0.1:$SERVER_METRICS_PORT
	hack/install-prometheus.sh
fi
if [ "$CDN" = varnish ]; then
	ports+=("$VARNISH_PORT")
	hack/varnish/install.sh
fi
for port in "${ports[@]}"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is in use; set DEMO_SERVER_PORT / DEMO_ORIGIN_PORT / DEMO_API_PORT / DEMO_S3_PORT (with MONITORING, DEMO_PROMETHEUS_PORT / DEMO_MANAGER_METRICS_PORT / DEMO_SERVER_METRICS_PORT; with CDN=varnish, DEMO_VARNISH_PORT) to free ones" >&2
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

# Flags both binaries get for the store; none with ConfigMaps, the default.
storage_flags=()
if [ "$STORAGE" = s3 ]; then
	[ -x "$BIN/versitygw" ] || { echo "no $BIN/versitygw: run hack/build-tools.sh (make tools)" >&2; exit 1; }
	go build -o "$BIN/demo-s3" ./hack/demo-s3
	S3_ENDPOINT=http://127.0.0.1:$S3_PORT
	S3_BUCKET=pages
	S3_PREFIX=demo
	S3_REGION=us-east-1
	# Fresh root credentials each run, passed through the environment only:
	# versitygw reads ROOT_*, the manager, the server and demo-s3 read the
	# standard AWS_* variables. (A real install gives the server read-only
	# credentials of its own.)
	AWS_ACCESS_KEY_ID=demo$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	AWS_SECRET_ACCESS_KEY=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
	AWS_REGION=$S3_REGION
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
	# The control plane starts empty each run, so the store does too.
	rm -rf "$DEMO/s3"
	mkdir -p "$DEMO/s3"
	ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY VGW_REGION=$S3_REGION \
		"$BIN/versitygw" --port "127.0.0.1:$S3_PORT" --health /healthz posix "$DEMO/s3" >"$DEMO/versitygw.log" 2>&1 &
	pids+=($!)
	"$BIN/demo-s3" --endpoint "$S3_ENDPOINT" --bucket "$S3_BUCKET" --region "$S3_REGION" mb ||
		{ echo "versitygw did not start; see .demo/versitygw.log" >&2; exit 1; }
	# http:// only for a store on this host (--s3-allow-http); versitygw
	# wants the bucket in the path.
	storage_flags+=(--storage s3 --s3-endpoint "$S3_ENDPOINT" --s3-allow-http --s3-path-style
		--s3-bucket "$S3_BUCKET" --s3-prefix "$S3_PREFIX" --s3-region "$S3_REGION")
fi
# Flags for the CDN in front; none without one.
manager_cdn_flags=()
server_cdn_flags=()
if [ "$CDN" = varnish ]; then
	VARNISH_URL=http://127.0.0.1:$VARNISH_PORT
	# The server sends each page's tags in xkey, which the VCL purges by,
	# and an hour's lifetime for Varnish only (CDN-Cache-Control): the
	# purge, not the lifetime, brings new content to visitors. The manager
	# purges once the server serves the new content, so that Varnish cannot
	# fetch the old page again.
	server_cdn_flags+=(--cdn-tag-headers=xkey --cdn-cache-control=max-age=3600)
	manager_cdn_flags+=(--cdn-purge-servers "http://127.0.0.1:$SERVER_PORT")
	rm -rf "$DEMO/varnish"
	mkdir -p "$DEMO/varnish"
	# The VCL as shipped, its backend the server's page port; its purgers
	# acl admits loopback, where the manager runs.
	sed -e "s#\.port = \"8000\";#.port = \"$SERVER_PORT\";#" hack/varnish/default.vcl >"$DEMO/varnish/default.vcl"
	"$VARNISHD" -j none -C -n "$DEMO/varnish/check" -f "$DEMO/varnish/default.vcl" >"$DEMO/varnish.log" 2>&1 ||
		{ echo "the VCL does not compile; see .demo/varnish.log" >&2; exit 1; }
	# -F keeps varnishd in the foreground, so it stops with the demo;
	# -j none runs it as this user.
	"$VARNISHD" -j none -F -n "$DEMO/varnish/work" -a "127.0.0.1:$VARNISH_PORT" -f "$DEMO/varnish/default.vcl" \
		-s malloc,64m -T none >"$DEMO/varnish.log" 2>&1 &
	pids+=($!)
	# Any answer will do: the server behind it may not be up yet.
	for _ in $(seq 1 60); do
		curl -s -o /dev/null "$VARNISH_URL/" && break
		sleep 0.5
	done
	curl -s -o /dev/null "$VARNISH_URL/" || { echo "Varnish did not start; see .demo/varnish.log" >&2; exit 1; }
fi
# The demo origin listens on loopback, which the origin guard refuses unless
# allowed, exactly as a user allows a same-pod origin.
"$BIN/manager" --metrics-bind-address "$manager_metrics" --health-probe-bind-address 127.0.0.1:0 \
	--allow-origin "127.0.0.1:$ORIGIN_PORT" "${storage_flags[@]}" "${manager_cdn_flags[@]}" \
	>"$DEMO/manager.log" 2>&1 &
pids+=($!)
"$KUBECTL" create secret generic isr-revalidate --from-literal=token="$API_TOKEN" >/dev/null
"$BIN/server" --listen-address "127.0.0.1:$SERVER_PORT" --metrics-bind-address "$server_metrics" \
	--health-probe-bind-address 127.0.0.1:0 \
	--revalidate-bind-address "127.0.0.1:$API_PORT" --revalidate-secret default/isr-revalidate \
	"${storage_flags[@]}" "${server_cdn_flags[@]}" \
	>"$DEMO/server.log" 2>&1 &
pids+=($!)

if [ -n "$MONITORING" ]; then
	# The chart's rules, as the PrometheusRule carries them; honor_labels,
	# as the chart's monitors set it, keeps the metrics' namespace label.
	rm -rf "$DEMO/prometheus"
	mkdir -p "$DEMO/prometheus"
	cat >"$DEMO/prometheus/prometheus.yml" <<EOT
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $ROOT/charts/isr-operator/files/monitoring/prometheus-rules.yaml
scrape_configs:
  - job_name: isr-manager
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:$MANAGER_METRICS_PORT"]
        labels: {isr_component: manager}
  - job_name: isr-server
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:$SERVER_METRICS_PORT"]
        labels: {isr_component: server}
EOT
	prometheus --config.file="$DEMO/prometheus/prometheus.yml" --storage.tsdb.path="$DEMO/prometheus/data" \
		--web.listen-address="127.0.0.1:$PROMETHEUS_PORT" >"$DEMO/prometheus.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 60); do
		curl -sf -o /dev/null "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" && break
		sleep 0.5
	done
	curl -sf -o /dev/null "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" ||
		{ echo "Prometheus did not start; see .demo/prometheus.log" >&2; exit 1; }
fi

# Pages are rendered and served only for hosts granted to their namespace
# (--host-grants=required, the default): as a cluster admin would, grant the
# samples' namespace every host. (config/samples/namespace.yaml says the same.)
"$KUBECTL" annotate namespace default --overwrite 'isr-operator.io/hosts=*'
# The samples point at the demo origin's default port.
{
	for f in config/samples/*.yaml; do
		echo ---
		sed "s#http://127.0.0.1:8088#http://127.0.0.1:$ORIGIN_PORT#" "$f"
	done
	if [ "$CDN" = varnish ]; then
		cat <<EOT
---
apiVersion: pages.isr-operator.io/v1alpha1
kind: CDN
metadata:
  name: varnish
  namespace: default
spec:
  provider: varnish
  varnish:
    urls: ["$VARNISH_URL"]
EOT
	fi
} | "$KUBECTL" apply -f -
"$KUBECTL" wait --for=condition=Ready staticpage --all --timeout=60s
"$KUBECTL" wait --for=condition=Ready staticpageset --all --timeout=60s
"$KUBECTL" get staticpagesets
# Wait for the server to be ready, then ask for a product nobody built yet.
for _ in $(seq 1 60); do
	curl -sf -o /dev/null "http://127.0.0.1:$SERVER_PORT/products/42" && break
	sleep 0.5
done
echo
echo "a product page never built before, rendered on its first request:"
echo "  curl -s -w '%{http_code} in %{time_total}s' http://127.0.0.1:$SERVER_PORT/products/777"
curl -s -w '  -> %{http_code} in %{time_total}s\n' "http://127.0.0.1:$SERVER_PORT/products/777" | sed 's/^/  /' || true

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
  kubectl get staticpages -l pages.isr-operator.io/set=products   # the set's pages (prerendered so far)
  curl -s -o /dev/null -w '%{http_code} in %{time_total}s\n' http://127.0.0.1:$SERVER_PORT/products/778
                                                  # never built: rendered on this first request
  curl -i http://127.0.0.1:$SERVER_PORT/products/99999999   # no such product: 404, remembered for the set's interval
  curl -s -X POST http://127.0.0.1:$API_PORT/revalidate -H 'Authorization: Bearer $API_TOKEN' \
    -H 'Content-Type: application/json' -d '{"paths": ["/products/42"], "wait": true}'   # as a CMS would

Logs: .demo/*.log. Press Ctrl-C to stop everything.
EOT
if [ "$STORAGE" = s3 ]; then
	cat <<EOT

Pages are kept in s3://$S3_BUCKET/$S3_PREFIX/ on versitygw at $S3_ENDPOINT (posix backend:
files under .demo/s3/$S3_BUCKET/). List the bucket:

  AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \\
    $BIN/demo-s3 --endpoint $S3_ENDPOINT --bucket $S3_BUCKET ls $S3_PREFIX/
  find .demo/s3/$S3_BUCKET -type f              # the same objects, as files
  kubectl get staticpage home -o jsonpath='{.status.digest}'   # names <prefix>/pages/sha256/<hex>/
EOT
fi
if [ "$CDN" = varnish ]; then
	cat <<EOT

Varnish: $VARNISH_URL, in front of the server. It keeps pages for an hour; the CDN object
"varnish" (kubectl get cdn) purges a page from it as soon as the server serves its new content.
Ask until a hit (two X-Varnish ids; a stale page's first request also regenerates it, which
purges it), then revalidate and ask again: the new render, without waiting for the hour.

  curl -si $VARNISH_URL/about | grep -iE '^(x-varnish|age):|render #'
  kubectl annotate staticpage about isr-operator.io/revalidate="\$(date +%s)" --overwrite; sleep 1; curl -s $VARNISH_URL/about
EOT
fi
if [ -n "$MONITORING" ]; then
	cat <<EOT

Prometheus: http://127.0.0.1:$PROMETHEUS_PORT (scraping the manager and the server every 5s,
with the chart's alerts: http://127.0.0.1:$PROMETHEUS_PORT/alerts). Try:

  curl -s 'http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query' --data-urlencode 'query=max by (namespace, set) (isr_pages_stale)'
  curl -s 'http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query' --data-urlencode \
    'query=histogram_quantile(0.99, sum by (le, cache) (rate(isr_server_request_duration_seconds_bucket[1m])))'
EOT
fi
wait -n "${pids[@]}" || true
echo "a demo process exited; see .demo/*.log" >&2
