#!/usr/bin/env bash
# Finds or builds the local control plane binaries and prints one NAME=PATH line
# per binary on stdout (progress goes to stderr).
#
# Lookup order for each binary:
#   1. $KUBEBUILDER_ASSETS/<name>   (envtest convention)
#   2. <name> on $PATH              (skipped with SDC_IGNORE_PATH=1)
#   3. the per-version cache        ($SDC_CACHE_DIR, default ~/.cache/statefulset-drain-controller)
#   4. a build from the Go modules into that cache
#
# With SDC_REAL_NODE=1, kubelet and kube-proxy too (for a real node), from the same wrapper module.
#
# kwok is built with one local change (see patch_kwok): it deletes pods with a UID precondition, as a
# kubelet does. A kwok found through KUBEBUILDER_ASSETS or PATH is used as it is.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../versions.env
source "$here/../versions.env"

cache_root="${SDC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/statefulset-drain-controller}"
cache="$cache_root/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION"
kwok_cache="$cache_root/kwok-$KWOK_VERSION-uid-precondition"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
if [[ "${SDC_REAL_NODE:-0}" == 1 ]]; then binaries+=(kubelet kube-proxy); fi

log() { printf '[binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

locate() {
  local name="$1"
  if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$name" ]]; then
    echo "$KUBEBUILDER_ASSETS/$name"; return
  fi
  if [[ "${SDC_IGNORE_PATH:-0}" != 1 ]] && command -v "$name" >/dev/null 2>&1; then
    command -v "$name"; return
  fi
  if [[ -x "$(cache_of "$name")/$name" ]]; then
    echo "$(cache_of "$name")/$name"; return
  fi
}

cache_of() {
  if [[ "$1" == kwok ]]; then echo "$kwok_cache"; else echo "$cache"; fi
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

# Builds the given k8s.io/kubernetes commands (kube-apiserver, kubelet, ...) from one wrapper module.
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
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
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
  log "compiling $* (several minutes on 2 cores the first time)"
  build_in_wrapper "$dir" "$ld" "${@/#/k8s.io/kubernetes/cmd/}"
}

# kwok deletes a terminating pod by name alone, and may send that delete more than once. A kubelet
# deletes with the pod's UID as a precondition. Without it, kwok's repeated delete of a scaled-down
# stateful pod can remove the drain pod that has just taken the same name. The wrapper module builds
# a copy of kwok's source whose two pod delete calls carry the UID; the module cache is left untouched.
patch_kwok() {
  local dir="$1" src="$1/kwok-src"
  rm -rf "$src"
  cp -r "$(cd "$dir" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)" "$src"
  chmod -R u+w "$src"
  local controllers="$src/pkg/kwok/controllers"
  sed -i 's/Pods(pod.Namespace).Delete(ctx, pod.Name, deleteOpt)/Pods(pod.Namespace).Delete(ctx, pod.Name, deleteOptFor(pod.UID))/' "$controllers/pod_controller.go"
  sed -i 's/cli.Delete(ctx, resource.GetName(), deleteOpt)/cli.Delete(ctx, resource.GetName(), deleteOptFor(resource.GetUID()))/' "$controllers/stage_controller.go"
  for f in pod_controller.go stage_controller.go; do
    if ! grep -q deleteOptFor "$controllers/$f"; then log "ERROR: the kwok UID-precondition patch no longer applies to $f"; exit 1; fi
  done
  cat > "$controllers/delete_precondition.go" <<'GO'
package controllers

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func deleteOptFor(uid types.UID) metav1.DeleteOptions {
	opt := deleteOpt
	opt.Preconditions = metav1.NewUIDPreconditions(string(uid))
	return opt
}
GO
  printf '\nreplace sigs.k8s.io/kwok => ./kwok-src\n' >> "$dir/go.mod"
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy >&2)
}

# Builds the main package `pkg` of `module@version` into `out_dir` as `name`.
build_single() {
  local name="$1" module="$2" version="$3" pkg="$4" ldflags="$5" out_dir="$6"
  local dir="$cache_root/work/$name-$version"
  mkdir -p "$dir"
  printf 'module sdc.local/%s-build\n\ngo 1.24\n\nrequire %s %s\n' "$name" "$module" "$version" > "$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" > "$dir/tools.go"
  log "downloading $name $version modules"
  (cd "$dir" && GOFLAGS=-mod=mod go mod tidy >&2)
  if [[ "$name" == kwok ]]; then patch_kwok "$dir"; fi
  log "compiling $name"
  local out="$out_dir/.build-$name"
  mkdir -p "$out"
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" go build -ldflags "$ldflags" -o "$out/$name" "$pkg")
  mv "$out/$name" "$out_dir/$name"
  rmdir "$out"
}

missing=()
for b in "${binaries[@]}"; do
  [[ -n "$(locate "$b")" ]] || missing+=("$b")
done

if ((${#missing[@]})); then
  log "missing: ${missing[*]}; building into $cache_root"
  require_go "${missing[0]}"
  mkdir -p "$cache" "$kwok_cache"
  start=$(date +%s)
  need() { [[ " ${missing[*]} " == *" $1 "* ]]; }
  wanted=()
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do if need "$cmd"; then wanted+=("$cmd"); fi; done
  if ((${#wanted[@]})); then build_kubernetes "${wanted[@]}"; fi
  if need etcd; then build_single etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "-s -w" "$cache"; fi
  if need kwok; then
    build_single kwok sigs.k8s.io/kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" "$kwok_cache"
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
