#!/usr/bin/env bash
# Builds kube-router (github.com/cloudnativelabs/kube-router, not a Debian package) from the Go
# module proxy into the cache: ${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}/tools/kube-router-<version>/kube-router.
# The host cluster's bridge CNI enforces no NetworkPolicy; kube-router's network policy
# controller, which the harness runs on demand (test/hostcluster/kuberouter.go), does, so the
# e2e tests can show isolation's policies cutting traffic. v2.1.0 is the one release the proxy
# serves here; security flaws are reported against it, so it runs only in the test harness, on a
# throwaway cluster, never in vkube. Reuses what is there. Prints the binary's path on stdout,
# progress on stderr. Usage: hack/kube-router.sh [vX.Y.Z]
set -euo pipefail
version=${1:-v2.1.0}
cache=${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}
out=$cache/tools/kube-router-$version
mkdir -p "$out"
# Outside the repository, so that it builds with its own go.mod, not vkube's.
cd "$out"
if [ ! -x "$out/kube-router" ]; then
  echo "kube-router: building $version (a few minutes on a cold cache)" >&2
  GOBIN=$out CGO_ENABLED=0 GOFLAGS= go install -trimpath -ldflags "-s -w" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$version"
  echo "kube-router: $version ready in $out" >&2
fi
echo "$out/kube-router"
