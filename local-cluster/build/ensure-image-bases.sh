#!/usr/bin/env bash
# The published Dockerfile's base images are on registries these machines cannot reach. This assembles
# stand-ins from what is here, as OCI archives in the cache, and prints NAME=PATH:
#   build  for node:24-bookworm-slim: Node.js 24 from the npm registry's `node` package (the one npm ci
#          installs into node_modules), this machine's npm, the C/C++ runtime libraries node links against,
#          Debian's static busybox as /bin/sh, and this machine's CA bundle
#   run    for gcr.io/distroless/nodejs24-debian12:nonroot: the same node at /nodejs/bin/node with its
#          libraries, an /etc/passwd with nonroot (65532), nothing else (no shell, no package manager)
# Usage: ensure-image-bases.sh <path to the node binary>
set -euo pipefail
node_bin="$(readlink -f "$1")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
version="$("$node_bin" --version)-npm$(npm --version)"
cache="${SDC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/statefulset-drain-controller}/image-bases-$version"
log() { printf '[image bases %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Copies the dynamic libraries `binary` needs (and the loader) into `rootfs`, at the same paths.
copy_libraries() {
  local rootfs="$1" binary="$2"
  for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
}

pack() {
  local name="$1" rootfs="$2"; shift 2
  local work; work="$(mktemp -d)"
  umoci init --layout "$work/layout" >&2
  umoci new --image "$work/layout:base" >&2
  umoci unpack --image "$work/layout:base" "$work/bundle" >&2
  cp -a "$rootfs/." "$work/bundle/rootfs/"
  umoci repack --image "$work/layout:base" "$work/bundle" >&2
  umoci config --image "$work/layout:base" "$@" >&2
  mkdir -p "$cache"
  tar -C "$work/layout" -cf "$cache/$name.tar.partial" .
  mv "$cache/$name.tar.partial" "$cache/$name.tar"
  rm -rf "$work"
}

if [[ ! -s "$cache/build.tar" ]]; then
  log "assembling the build base (node $("$node_bin" --version), npm $(npm --version))"
  rootfs="$(mktemp -d)"
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules" "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/root"
  chmod 1777 "$rootfs/tmp"
  cp "$node_bin" "$rootfs/usr/local/bin/node"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  copy_libraries "$rootfs" "$node_bin"
  cp "$(command -v busybox)" "$rootfs/bin/busybox"
  for applet in sh env mkdir rm cp ls cat; do ln -s busybox "$rootfs/bin/$applet"; done
  # npm's own scripts start with #!/usr/bin/env node.
  mkdir -p "$rootfs/usr/bin" && ln -s ../../bin/busybox "$rootfs/usr/bin/env"
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rootfs/etc/passwd"
  # Debian's node image trusts Debian's CA bundle; the stand-in trusts this machine's (npm ci reaches the
  # registry through whatever this machine's own trust store accepts). Only the build stage has it.
  mkdir -p "$rootfs/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  pack build "$rootfs" --config.env PATH=/usr/local/bin:/bin --config.env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --config.cmd node
  rm -rf "$rootfs"
fi
if [[ ! -s "$cache/run.tar" ]]; then
  log "assembling the run base"
  rootfs="$(mktemp -d)"
  mkdir -p "$rootfs/nodejs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/home/nonroot"
  chmod 1777 "$rootfs/tmp"
  cp "$node_bin" "$rootfs/nodejs/bin/node"
  copy_libraries "$rootfs" "$node_bin"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
  chown 65532:65532 "$rootfs/home/nonroot"
  pack run "$rootfs" --config.user 65532 --config.workingdir /home/nonroot --config.entrypoint /nodejs/bin/node
  rm -rf "$rootfs"
fi
echo "build=$cache/build.tar"
echo "run=$cache/run.tar"
