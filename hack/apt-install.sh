#!/usr/bin/env bash
# Installs Debian packages if any is missing, with service start-up blocked (policy-rc.d exit
# 101) so no packaged daemon is left running: vkube's tests start their own servers.
# Idempotent; runs apt-get update only when something is missing. Needs root (or sudo).
# Usage: hack/apt-install.sh TAG PACKAGE...   (TAG prefixes the log lines)
set -euo pipefail
tag=$1
shift
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "$@"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$tag: already installed: $*"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq

# Skip any package this distribution does not have (e.g. etcd-client on a release without it).
available=()
for p in "${missing[@]}"; do
  if apt-cache show "$p" >/dev/null 2>&1; then available+=("$p"); else echo "$tag: no package $p here, skipping" >&2; fi
done
[ ${#available[@]} -gt 0 ] || exit 0

policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# hack/apt-install.sh: no services during install\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ -n "$own_policy" ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

echo "$tag: installing ${available[*]}"
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${available[@]}"
