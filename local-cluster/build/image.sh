#!/usr/bin/env bash
# Builds the controller's image from the project's own Dockerfile, unchanged, with buildah (Debian's) and the
# stand-in bases of ensure-image-bases.sh passed as --build-arg, and prints the OCI archive's path. The
# archive is cached under a hash of everything the image is built from.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log() { printf '[image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cache_root="${SDC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/statefulset-drain-controller}"

if ! command -v buildah >/dev/null 2>&1; then
  [[ $(id -u) == 0 ]] || { log "ERROR: buildah is missing, and installing it needs root"; exit 1; }
  log "installing buildah"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah >&2 || {
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah >&2; }
fi
inputs="$(cd "$root" && { cat Dockerfile .dockerignore package.json package-lock.json tsconfig.json scripts/bundle.ts; find src -type f | sort | xargs cat; } | sha256sum | cut -c1-16)"
out="$cache_root/controller-image/statefulset-drain-controller-$inputs.tar"
if [[ ! -s "$out" ]]; then
  eval "$(bash "$root/local-cluster/build/ensure-image-bases.sh" "$root/node_modules/node/bin/node" | sed 's/^/base_/')"
  tag="localhost/statefulset-drain-controller:$inputs"
  log "building the Dockerfile with buildah (bases: $base_build, $base_run)"
  buildah --storage-driver vfs bud --network host --layers=false -f "$root/Dockerfile" \
    --build-arg "BUILD_BASE=oci-archive:$base_build" --build-arg "RUN_BASE=oci-archive:$base_run" -t "$tag" "$root" >&2
  mkdir -p "$(dirname "$out")"
  buildah --storage-driver vfs push "$tag" "oci-archive:$out.partial:statefulset-drain-controller:0.1.0" >&2
  buildah --storage-driver vfs rmi "$tag" >&2 || true
  mv "$out.partial" "$out"
fi
echo "$out"
