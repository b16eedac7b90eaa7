#!/usr/bin/env bash
# Builds the real etcd server (the version vkube embeds, from the Go module proxy) into the
# cache, for tests that need an external etcd Kubernetes supports (3.5+; Debian has 3.4).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
cache=${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}
out=$cache/etcd/$version/etcd
if [ -x "$out" ]; then echo "etcd-server: $version already in $out"; exit 0; fi
mkdir -p "$(dirname "$out")"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out" go.etcd.io/etcd/server/v3
echo "etcd-server: $version ready in $out"
