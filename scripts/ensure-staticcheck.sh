#!/usr/bin/env bash
# ensure-staticcheck.sh installs the pinned staticcheck `make lint` runs, once,
# into ${SHADOWVAULT_CACHE:-$HOME/.cache/shadowvault}/staticcheck-<version>/staticcheck,
# and prints its path (see go-tool.sh).
set -euo pipefail
exec "$(dirname "$0")/go-tool.sh" staticcheck honnef.co/go/tools/cmd/staticcheck v0.8.2
