#!/usr/bin/env bash
# Builds kine's own server (github.com/k3s-io/kine's main, the version vkube embeds) from the Go
# module proxy into the cache, the way kine's scripts/build builds its release binary: CGO on,
# mattn/go-sqlite3 with the same SQLite options and tags. It is the "bare" datastore of
# `make bench`: what a user runs by hand in front of kube-apiserver. Reuses what is there.
# Prints the binary's path on stdout, progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(go list -m -f '{{.Version}}' github.com/k3s-io/kine)
cache=${VKUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vkube}
out=$cache/kine/$version
if [ ! -x "$out/kine" ]; then
  hack/apt-install.sh kine-server gcc libc6-dev >&2
  mkdir -p "$out"
  echo "kine-server: building $version (a few minutes on a cold cache)" >&2
  cflags="-DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_DISABLE_INTRINSIC -DSQLITE_ENABLE_COLUMN_METADATA
    -DSQLITE_ENABLE_DBPAGE_VTAB -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ENABLE_MATH_FUNCTIONS
    -DSQLITE_ENABLE_MEMORY_MANAGEMENT -DSQLITE_ENABLE_OFFSET_SQL_FUNC -DSQLITE_ENABLE_PREUPDATE_HOOK
    -DSQLITE_ENABLE_RBU -DSQLITE_ENABLE_RTREE -DSQLITE_ENABLE_SESSION -DSQLITE_ENABLE_SNAPSHOT
    -DSQLITE_ENABLE_STAT4 -DSQLITE_ENABLE_UNLOCK_NOTIFY -DSQLITE_LIKE_DOESNT_MATCH_BLOBS
    -DSQLITE_THREADSAFE=1 -DSQLITE_WITHOUT_ZONEMALLOC"
  tags="nats,sqlite_unlock_notify,sqlite_vtable,sqlite_stat4,sqlite_preupdate_hook,sqlite_math_functions,sqlite_dbstat,sqlite_column_metadata"
  # Outside the repository, so that kine builds with its own go.mod, not vkube's.
  cd "$out"
  GOBIN=$out CGO_ENABLED=1 CGO_CFLAGS="$cflags" GOFLAGS= go install -tags "$tags" -ldflags "-s -w" \
    "github.com/k3s-io/kine@$version"
  echo "kine-server: $version ready in $out" >&2
fi
echo "$out/kine"
