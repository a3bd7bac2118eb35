#!/usr/bin/env bash
# ensure-staticcheck.sh installs the pinned staticcheck `make lint` runs, once,
# into ${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/staticcheck-<version>/staticcheck,
# and prints its path. It does nothing when the binary is already there, and
# concurrent runs wait for each other instead of installing twice.
set -euo pipefail

version=v0.8.2 # honnef.co/go/tools
dir="${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/staticcheck-$version"
bin="$dir/staticcheck"

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ -x "$bin" ]; then # installed by a concurrent run while we waited
	echo "$bin"
	exit 0
fi

echo "installing staticcheck@$version into $dir (once)" >&2
tmp="$(mktemp -d "$dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Outside any module, so that the project's go.mod plays no part.
(cd "$tmp" && GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "honnef.co/go/tools/cmd/staticcheck@$version")
mv "$tmp/staticcheck" "$bin" # atomic: a reader sees no binary or a whole one
echo "$bin"
