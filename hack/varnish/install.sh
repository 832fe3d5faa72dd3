#!/usr/bin/env bash
# Installs Debian's varnish and varnish-modules (the xkey module) when
# missing, for the tests and the demo that put a real Varnish in front of
# the server.
set -euo pipefail

missing=()
[ -x /usr/sbin/varnishd ] || missing+=(varnish)
dpkg -s varnish-modules >/dev/null 2>&1 || missing+=(varnish-modules)
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
fi
echo "installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
