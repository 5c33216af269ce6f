#!/usr/bin/env bash
# Assembles the real node's images without a registry, as OCI archives in the cache, and prints NAME=PATH:
#   busybox  docker.io/library/busybox:1.37 (what the examples run): Debian's static busybox and its applets
#   pause    sdc.local/pause:1, the pod sandbox: the same busybox, running `sleep infinity`
set -euo pipefail
cache="${SDC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/statefulset-drain-controller}/images-busybox-$(dpkg-query -W -f '${Version}' busybox-static | tr ':~+' '---')"
log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

build() {
  local name="$1" tag="$2"; shift 2
  local out="$cache/$name.tar"
  [[ -s "$out" ]] && { echo "$name=$out"; return; }
  log "assembling $name ($tag) with umoci"
  local work; work="$(mktemp -d)"
  umoci init --layout "$work/layout" >&2
  umoci new --image "$work/layout:$tag" >&2
  umoci unpack --image "$work/layout:$tag" "$work/bundle" >&2
  local rootfs="$work/bundle/rootfs"
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
  chmod 1777 "$rootfs/tmp"
  cp "$(command -v busybox)" "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do [[ "$applet" == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$rootfs/etc/group"
  umoci repack --image "$work/layout:$tag" "$work/bundle" >&2
  umoci config --image "$work/layout:$tag" --config.env PATH=/bin "$@" >&2
  mkdir -p "$cache"
  tar -C "$work/layout" -cf "$out.partial" .
  mv "$out.partial" "$out"
  rm -rf "$work"
  echo "$name=$out"
}

build busybox 1.37 --config.cmd sh
build pause 1 --config.entrypoint sleep --config.cmd infinity
