#!/usr/bin/env bash
# ensure-minio.sh builds the MinIO server the S3 tests run against, once, into
# ${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/minio-<commit>/minio, and
# prints its path. It does nothing when the binary is already there, and
# concurrent runs wait for each other instead of building twice.
set -euo pipefail

commit=7aac2a2c5b7c # keep in step with internal/miniotest/binary.go
version="v0.0.0-20260212201848-$commit"
dir="${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/minio-$commit"
bin="$dir/minio"

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

echo "building minio@$version into $dir (a few minutes, once)" >&2
tmp="$(mktemp -d "$dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Outside any module, so that the project's go.mod plays no part.
(cd "$tmp" && GOBIN="$tmp" GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$version")
mv "$tmp/minio" "$bin" # atomic: a reader sees no binary or a whole one
echo "$bin"
