#!/usr/bin/env bash
# Installs the datastore servers the integration tests start themselves (test/dbserver):
# PostgreSQL, MariaDB and etcd 3.4 (+ etcdctl) from Debian 12 packages. Idempotent: does
# nothing when everything is installed. Never leaves a packaged daemon running: services are
# blocked through policy-rc.d during the install, and any server the install still started on
# the default ports is stopped afterwards. Needs root (or sudo). Usage: hack/test-deps.sh
set -euo pipefail

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
"$(dirname "$0")/apt-install.sh" test-deps postgresql mariadb-server etcd-server etcd-client

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
