#!/usr/bin/env bash
# go-tool.sh NAME PACKAGE VERSION [TAG]: builds the Go command
# PACKAGE@VERSION once into
# ${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/NAME-TAG/NAME (TAG: the
# version unless given)
# and prints its path. It does nothing when the binary is already there;
# concurrent runs wait for each other instead of building twice, and the
# binary appears whole or not at all. The ensure-*.sh scripts pin what
# shadowvault's tests and benchmarks build this way.
set -euo pipefail

name="$1" pkg="$2" version="$3" tag="${4:-$3}"
dir="${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/$name-$tag"
bin="$dir/$name"

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ -x "$bin" ]; then # built by a concurrent run while we waited
	echo "$bin"
	exit 0
fi

echo "building $pkg@$version into $dir (once)" >&2
tmp="$(mktemp -d "$dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Outside any module, so that the project's go.mod plays no part.
(cd "$tmp" && GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "$pkg@$version")
mv "$tmp/$name" "$bin" # atomic: a reader sees no binary or a whole one
echo "$bin"
