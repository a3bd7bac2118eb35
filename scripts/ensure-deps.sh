#!/usr/bin/env bash
# ensure-deps.sh installs the Debian packages shadowvault's tests use, only
# when a command they provide is missing:
#   qemu-img (qemu-utils), mkntfs/ntfscp (ntfs-3g), sfdisk (fdisk),
#   chromium (the dashboard's browser tests, driven by chromedp),
#   and with "bench": restic and borg (restic, borgbackup).
set -euo pipefail

need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
want qemu-img qemu-utils
want mkntfs ntfs-3g
want ntfscp ntfs-3g
want sfdisk fdisk
want chromium chromium
if [ "${1:-}" = bench ]; then
	want restic restic
	want borg borgbackup
fi
[ ${#need[@]} -eq 0 ] && exit 0

pkgs=$(printf '%s\n' "${need[@]}" | sort -u | tr '\n' ' ')
echo "installing Debian packages: $pkgs" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null || true
# shellcheck disable=SC2086
$sudo apt-get install -y -qq $pkgs >/dev/null
