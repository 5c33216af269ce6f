#!/usr/bin/env bash
# Finds or builds the local control plane binaries and prints one NAME=PATH line
# per binary on stdout (progress goes to stderr).
#
# Lookup order for each binary:
#   1. $KUBEBUILDER_ASSETS/<name>   (envtest convention)
#   2. <name> on $PATH              (skipped with SDC_IGNORE_PATH=1)
#   3. the per-version cache        ($SDC_CACHE_DIR, default ~/.cache/statefulset-drain-controller)
#   4. a build from the Go modules into that cache
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../versions.env
source "$here/../versions.env"

cache_root="${SDC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/statefulset-drain-controller}"
cache="$cache_root/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { printf '[binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

locate() {
  local name="$1"
  if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$name" ]]; then
    echo "$KUBEBUILDER_ASSETS/$name"; return
  fi
  if [[ "${SDC_IGNORE_PATH:-0}" != 1 ]] && command -v "$name" >/dev/null 2>&1; then
    command -v "$name"; return
  fi
  if [[ -x "$cache/$name" ]]; then
    echo "$cache/$name"; return
  fi
}

require_go() {
  if ! command -v go >/dev/null 2>&1; then
    log "ERROR: '$1' is missing and Go is not installed to build it."
    log "Install Go, or point KUBEBUILDER_ASSETS / PATH at existing binaries."
    exit 1
  fi
}

# Builds packages from a throwaway wrapper module so that the upstream modules'
# own replace directives (which `go install pkg@version` refuses) do not matter.
build_in_wrapper() {
  local dir="$1"; shift
  local ldflags="$1"; shift
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" \
    go build -ldflags "$ldflags" -o "$cache/" "$@")
}

build_kubernetes() {
  local dir="$cache_root/work/kubernetes-$KUBERNETES_VERSION"
  local staging="v0${KUBERNETES_VERSION#v1}"
  mkdir -p "$dir"
  log "resolving k8s.io/kubernetes@$KUBERNETES_VERSION (staging modules at $staging)"
  local gomod
  gomod="$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module sdc.local/kubernetes-build"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    # k8s.io/kubernetes points its staging modules at ./staging; pin them to the matching tags instead.
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#replace \1 => \1 '"$staging"'#p' "$gomod"
  } > "$dir/go.mod"
  cat > "$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  log "downloading Kubernetes modules (first time only, a few hundred MB)"
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy >&2)
  local v="k8s.io/component-base/version" c="k8s.io/client-go/pkg/version"
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  local ld="-s -w"
  for p in "$v" "$c"; do
    ld="$ld -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  log "compiling kube-apiserver, kube-controller-manager, kube-scheduler (several minutes on 2 cores)"
  build_in_wrapper "$dir" "$ld" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
}

# Builds the main package `pkg` of `module@version` into the cache as `name`.
build_single() {
  local name="$1" module="$2" version="$3" pkg="$4" ldflags="$5"
  local dir="$cache_root/work/$name-$version"
  mkdir -p "$dir"
  printf 'module sdc.local/%s-build\n\ngo 1.24\n\nrequire %s %s\n' "$name" "$module" "$version" > "$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > "$dir/tools.go"
  log "downloading $name $version modules"
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy >&2)
  log "compiling $name"
  local out="$cache/.build-$name"
  mkdir -p "$out"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" go build -ldflags "$ldflags" -o "$out/$name" "$pkg")
  mv "$out/$name" "$cache/$name"
  rmdir "$out"
}

missing=()
for b in "${binaries[@]}"; do
  [[ -n "$(locate "$b")" ]] || missing+=("$b")
done

if ((${#missing[@]})); then
  log "missing: ${missing[*]}; building into $cache"
  require_go "${missing[0]}"
  mkdir -p "$cache"
  start=$(date +%s)
  need() { [[ " ${missing[*]} " == *" $1 "* ]]; }
  if need kube-apiserver || need kube-controller-manager || need kube-scheduler; then build_kubernetes; fi
  if need etcd; then build_single etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "-s -w"; fi
  if need kwok; then
    build_single kwok sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
  fi
  log "build finished in $(( $(date +%s) - start ))s"
fi

for b in "${binaries[@]}"; do
  path="$(locate "$b")"
  if [[ -z "$path" ]]; then
    log "ERROR: $b was not found and could not be built"; exit 1
  fi
  echo "$b=$path"
done
