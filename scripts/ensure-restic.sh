#!/usr/bin/env bash
# ensure-restic.sh builds restic, the reference of the comparison benchmark
# (bench/), once, into
# ${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/restic-<version>/restic, and
# prints its path (see go-tool.sh). Keep the version in step with the
# "restic" system of the benchmark.
set -euo pipefail
exec "$(dirname "$0")/go-tool.sh" restic github.com/restic/restic/cmd/restic v0.18.1
