#!/usr/bin/env bash
# Builds the helm CLI (Helm is not a Debian package) from the Go module proxy into the cache:
# ${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}/tools/helm-<version>/helm, for the tests
# that run `helm lint` and `helm template` on charts/vkube (vkube itself uses the Helm SDK).
# Reuses what is there. Prints the binary's path on stdout, progress on stderr.
# Usage: hack/helm.sh [vX.Y.Z]
set -euo pipefail
version=${1:-v4.3.1}
cache=${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}
out=$cache/tools/helm-$version
if [ ! -x "$out/helm" ]; then
  mkdir -p "$out"
  echo "helm: building $version (a few minutes on a cold cache)" >&2
  # Outside the repository, so that helm builds with its own go.mod, not vkube's.
  cd "$out"
  GOBIN=$out CGO_ENABLED=0 GOFLAGS= go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version" \
    "helm.sh/helm/v4/cmd/helm@$version"
  echo "helm: $version ready in $out" >&2
fi
echo "$out/helm"
