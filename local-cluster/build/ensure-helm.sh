#!/usr/bin/env bash
# helm, to lint, render and install the chart (charts/statefulset-drain-controller): a helm 4 already on PATH
# or in $HELM, else built once from its Go module (helm.sh/helm/v4, pinned) into the cache. Prints its path.
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v4.3.2}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/statefulset-drain-controller/helm-$HELM_VERSION"

if [[ -n ${HELM:-} && -x $HELM ]]; then echo "$HELM"; exit 0; fi
if command -v helm >/dev/null 2>&1 && helm version --template '{{.Version}}' 2>/dev/null | grep -q '^v4\.'; then command -v helm; exit 0; fi
if [[ ! -x $cache/helm ]]; then
  echo "building helm $HELM_VERSION from its Go module (once; cached in $cache)" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # `go install pkg@version` builds it as released, with helm's own go.mod.
  GOBIN="$work/bin" CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" \
    go install -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2
  mkdir -p "$cache"
  mv "$work/bin/helm" "$cache/helm"
fi
echo "$cache/helm"
