#!/usr/bin/env bash
# Nothing below cmd/ (tests included) imports a cmd/ package: the client side is a library in
# cli/, and cmd/vkube only registers flags and calls it.
set -euo pipefail
module=$(go list -m)
bad=$(go list -f '{{.ImportPath}}: {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... |
	grep -v "^$module/cmd/" | awk -v cmd="$module/cmd/" '{ for (i = 2; i <= NF; i++) if (index($i, cmd) == 1) print $1, $i }' || true)
if [ -n "$bad" ]; then
	echo "packages outside cmd/ import cmd/ (move the shared code below cli/):" >&2
	echo "$bad" >&2
	exit 1
fi
