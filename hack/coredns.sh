#!/usr/bin/env bash
# Builds CoreDNS (the host cluster's DNS, test/hostcluster) from the Go module proxy into the
# cache: ${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}/coredns/<version>/coredns.
# Reuses what is there. Usage: hack/coredns.sh [vX.Y.Z]
set -euo pipefail
version=${1:-v1.15.0}
cache=${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}
out=$cache/coredns/$version
if [ -x "$out/coredns" ]; then echo "coredns: $version already in $out"; exit 0; fi
mkdir -p "$out"
echo "coredns: building $version (about 2.5 minutes on a cold cache)"
GOBIN=$out CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$version"
echo "coredns: $version ready in $out"
