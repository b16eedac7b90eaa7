#!/usr/bin/env bash
# Builds the real Kubernetes binaries of one version from the Go module proxy into a cache
# outside the repository: ${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}/kube/<version>/.
# Reuses what is there. Usage: hack/kube-binaries.sh v1.34.2 [component...]
set -euo pipefail
version=${1:?usage: kube-binaries.sh vX.Y.Z [component...]}
shift || true
components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
[[ $version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { echo "kube-binaries: version must look like v1.34.2, got $version" >&2; exit 2; }
minor=${BASH_REMATCH[1]}
cache=${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}
out=$cache/kube/$version
missing=()
for c in "${components[@]}"; do [ -x "$out/$c" ] || missing+=("$c"); done
if [ ${#missing[@]} -eq 0 ]; then echo "kube-binaries: $version already in $out"; exit 0; fi

work=$cache/build/$version
mkdir -p "$work" "$out"
cd "$work"
if [ ! -f go.mod ]; then
  go mod download -json "k8s.io/kubernetes@$version" > kube.json
  kdir=$(sed -n 's/.*"Dir": "\(.*\)",/\1/p' kube.json)
  {
    echo "module vkube.local/kubebuild"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $version"
    echo
    grep -E '^\s*k8s.io/[^ ]+ => ./staging/src/k8s.io/' "$kdir/go.mod" |
      awk -v v="v0.$minor.${version##*.}" '{print "replace " $1 " => " $1 " " v}'
  } > go.mod
fi
{
  echo '//go:build tools'
  echo 'package tools'
  echo 'import ('
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
  echo ')'
} > tools.go
go mod tidy >/dev/null
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
pkgs=()
for c in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
echo "kube-binaries: building ${missing[*]} $version (a few minutes on a cold cache)"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}"
echo "kube-binaries: $version ready in $out"
