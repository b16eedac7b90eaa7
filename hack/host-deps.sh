#!/usr/bin/env bash
# Installs what the host-cluster harness (test/hostcluster) runs: containerd, runc, the CNI
# plugins, iptables and conntrack from Debian 12. Idempotent. Never leaves a packaged daemon
# running: services are blocked through policy-rc.d during the install (the harness runs its own
# containerd on its own socket). Needs root (or sudo). Usage: hack/host-deps.sh
set -euo pipefail

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"$(dirname "$0")/apt-install.sh" host-deps containerd runc containernetworking-plugins iptables conntrack ipset

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
