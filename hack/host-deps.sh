#!/usr/bin/env bash
# Installs what the host-cluster harness (test/hostcluster) runs: containerd, runc, the CNI
# plugins, iptables and conntrack from Debian 12. Idempotent. Never leaves a packaged daemon
# running: services are blocked through policy-rc.d during the install (the harness runs its own
# containerd on its own socket). Needs root (or sudo). Usage: hack/host-deps.sh
set -euo pipefail

packages=(containerd runc containernetworking-plugins iptables conntrack)

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "host-deps: already installed: ${packages[*]}"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq

policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# hack/host-deps.sh: no services during install\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ -n "$own_policy" ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

echo "host-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The packaged containerd listens on /run/containerd/containerd.sock; ours never does, so a
# packaged daemon that started anyway is recognisable by its default socket.
if command -v pgrep >/dev/null 2>&1; then
  for pid in $(pgrep -x containerd || true); do
    if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '--config'; then
      echo "host-deps: stopping packaged containerd pid $pid"
      "${sudo[@]}" kill "$pid" || true
    fi
  done
fi
echo "host-deps: done"
