#!/usr/bin/env bash
# Builds kwok (sigs.k8s.io/kwok, not a Debian package) from the Go module proxy into the cache:
# ${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}/tools/kwok-<version>/kwok, next to
# stages.yaml: the node and pod stages of that same release that `kwokctl` configures by default
# (nodes become Ready and keep a lease; pods become Running, Jobs' pods Succeeded, deleted pods
# go at once). The host cluster's optional kwok node (test/hostcluster/kwok.go) runs them, so
# benchmarks can schedule hundreds of pods that become Running without containers.
# Reuses what is there. Prints the binary's path on stdout, progress on stderr.
# Usage: hack/kwok.sh [vX.Y.Z]   (v0.8.0: the newest release; its go.mod needs Go 1.26)
set -euo pipefail
version=${1:-v0.8.0}
cache=${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}
out=$cache/tools/kwok-$version
mkdir -p "$out"
# Outside the repository, so that kwok builds with its own go.mod, not vkube's.
cd "$out"
if [ ! -x "$out/kwok" ]; then
  echo "kwok: building $version (a few minutes on a cold cache)" >&2
  GOBIN=$out CGO_ENABLED=0 GOFLAGS= go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$version" \
    "sigs.k8s.io/kwok/cmd/kwok@$version"
  echo "kwok: $version ready in $out" >&2
fi
if [ ! -s "$out/stages.yaml" ]; then
  src=$(GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$src" ] || [ ! -d "$src/kustomize/stage" ]; then
    echo "kwok: cannot find the module source of $version for its stages" >&2
    exit 1
  fi
  tmp=$(mktemp "$out/stages.yaml.XXXXXX")
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---" >>"$tmp"
    cat "$src/kustomize/stage/$f" >>"$tmp"
  done
  mv "$tmp" "$out/stages.yaml"
  echo "kwok: stages of $version in $out/stages.yaml" >&2
fi
echo "$out/kwok"
