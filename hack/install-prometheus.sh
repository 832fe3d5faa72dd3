#!/usr/bin/env bash
# Installs Debian's prometheus package (prometheus and promtool), for the
# alert tests and `make demo MONITORING=1`, when promtool is missing. The
# package's own service is not wanted: the tests and the demo start
# Prometheus themselves, so a service the package started is stopped and
# disabled.
set -euo pipefail

command -v promtool >/dev/null && command -v prometheus >/dev/null && exit 0

SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
echo "installing Debian's prometheus package (promtool)" >&2
$SUDO apt-get update -qq
# policy-rc.d (where the system has one) may already keep the service
# from starting; the stop below covers systems where it does not.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus
if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
	$SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
elif command -v service >/dev/null; then
	$SUDO service prometheus stop >/dev/null 2>&1 || true
fi
