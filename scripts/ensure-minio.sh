#!/usr/bin/env bash
# ensure-minio.sh builds the MinIO server the S3 tests run against, once, into
# ${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/minio-<commit>/minio, and
# prints its path (see go-tool.sh; the first build takes a few minutes).
set -euo pipefail

commit=7aac2a2c5b7c # keep in step with internal/miniotest/binary.go
exec "$(dirname "$0")/go-tool.sh" minio github.com/minio/minio "v0.0.0-20260212201848-$commit" "$commit"
