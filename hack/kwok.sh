#!/usr/bin/env bash
# Builds kwok (sigs.k8s.io/kwok, not a Debian package) from the Go module proxy into the cache:
# ${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}/tools/kwok-<version>/kwok. The host
# cluster's optional kwok node (test/hostcluster) runs it, so that benchmarks can schedule
# hundreds of pods that become Running without containers. Reuses what is there. Prints the
# binary's path on stdout, progress on stderr.
# Usage: hack/kwok.sh [vX.Y.Z]   (v0.8.0 is the newest release; its go.mod needs Go 1.26)
set -euo pipefail
version=${1:-v0.8.0}
cache=${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}
out=$cache/tools/kwok-$version
if [ ! -x "$out/kwok" ]; then
  mkdir -p "$out"
  echo "kwok: building $version (a few minutes on a cold cache)" >&2
  # Outside the repository, so that kwok builds with its own go.mod, not vkube's.
  cd "$out"
  GOBIN=$out CGO_ENABLED=0 GOFLAGS= go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$version" \
    "sigs.k8s.io/kwok/cmd/kwok@$version"
  echo "kwok: $version ready in $out" >&2
fi
echo "$out/kwok"
