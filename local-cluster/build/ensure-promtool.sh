#!/usr/bin/env bash
# promtool, to check and unit-test the alerting rules (manifests/monitoring): from Debian's `prometheus`
# package, installed with apt-get where missing (needs root). Prints its path.
set -euo pipefail
if ! command -v promtool >/dev/null 2>&1; then
  [[ $(id -u) == 0 ]] || { echo "promtool is missing, and installing Debian's prometheus package needs root" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends prometheus >&2 || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends prometheus >&2; }
fi
command -v promtool
