#!/usr/bin/env bash
# ensure-restic.sh builds restic, the reference of the comparison benchmark
# (bench/compare_test.go), once, into
# ${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/restic-<version>/restic, and
# prints its path. It does nothing when the binary is already there, and
# concurrent runs wait for each other instead of building twice.
set -euo pipefail

version=v0.18.1 # keep in step with the "restic" system of bench/compare_test.go
dir="${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/restic-$version"
bin="$dir/restic"

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

echo "building restic@$version into $dir (a minute or two, once)" >&2
tmp="$(mktemp -d "$dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Outside any module, so that the project's go.mod plays no part.
(cd "$tmp" && GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/restic/restic/cmd/restic@$version")
mv "$tmp/restic" "$bin" # atomic: a reader sees no binary or a whole one
echo "$bin"
