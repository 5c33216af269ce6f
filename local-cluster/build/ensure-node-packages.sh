#!/usr/bin/env bash
# Installs, with apt-get, what the real node needs from Debian when it is missing: containerd and runc (the
# container runtime), CNI plugins, busybox-static and umoci (to assemble images without a registry),
# iptables and conntrack (kube-proxy), iproute2 (the node's network namespace); and libfaketime, with which
# the fault suite jumps a controller replica's wall clock. Needs root.
set -euo pipefail
log() { printf '[node packages %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

declare -A provides=(
  [containerd]=/usr/bin/containerd [runc]=/usr/sbin/runc [containernetworking-plugins]=/usr/lib/cni/bridge
  [busybox-static]=/bin/busybox [umoci]=/usr/bin/umoci [iptables]=/usr/sbin/iptables [conntrack]=/usr/sbin/conntrack
  [iproute2]=/usr/sbin/ip [libfaketime]=/usr/lib/$(uname -m)-linux-gnu/faketime/libfaketime.so.1
)
missing=()
for pkg in "${!provides[@]}"; do
  [[ -e "${provides[$pkg]}" ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0
if [[ $(id -u) != 0 ]]; then
  log "ERROR: the real node needs these Debian packages, and installing them needs root: ${missing[*]}"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "ERROR: no apt-get to install ${missing[*]}"
  exit 1
fi
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
