#!/usr/bin/env bash
# Installs the datastore servers the integration tests start themselves (test/dbserver):
# PostgreSQL, MariaDB and etcd 3.4 (+ etcdctl) from Debian 12 packages. Idempotent: does
# nothing when everything is installed. Never leaves a packaged daemon running: services are
# blocked through policy-rc.d during the install, and any server the install still started on
# the default ports is stopped afterwards. Needs root (or sudo). Usage: hack/test-deps.sh
set -euo pipefail

packages=(postgresql mariadb-server etcd-server etcd-client)

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test-deps: already installed: ${packages[*]}"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq

# Skip any package this distribution does not have (e.g. etcd-client on a release without it).
available=()
for p in "${missing[@]}"; do
  if apt-cache show "$p" >/dev/null 2>&1; then available+=("$p"); else echo "test-deps: no package $p here, skipping" >&2; fi
done
[ ${#available[@]} -gt 0 ] || exit 0

# Block service start-up from maintainer scripts (invoke-rc.d honours policy-rc.d exit 101).
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# hack/test-deps.sh: no services during install\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ -n "$own_policy" ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

echo "test-deps: installing ${available[*]}"
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${available[@]}"

# Belt and braces: stop any packaged daemon that came up anyway (only the packaged ones,
# identified by their default data dirs / config, never the tests' own servers).
stop_pidfile() {
  local f=$1
  if [ -f "$f" ]; then
    local pid
    pid=$(head -n1 "$f")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      echo "test-deps: stopping packaged daemon pid $pid ($f)"
      "${sudo[@]}" kill "$pid" || true
    fi
  fi
}
for f in /var/lib/postgresql/*/main/postmaster.pid /run/mysqld/mysqld.pid /var/run/mysqld/mysqld.pid; do
  stop_pidfile "$f"
done
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r ver name; do
    "${sudo[@]}" pg_ctlcluster "$ver" "$name" stop || true
  done
fi
if command -v pgrep >/dev/null 2>&1; then
  for pid in $(pgrep -x etcd || true); do
    # The etcd-server package's daemon runs with the default data dir under /var/lib/etcd.
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '/var/lib/etcd' ||
       [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = /var/lib/etcd ]; then
      echo "test-deps: stopping packaged etcd pid $pid"
      "${sudo[@]}" kill "$pid" || true
    fi
  done
fi
echo "test-deps: done"
