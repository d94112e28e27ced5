#!/usr/bin/env bash
# scripts/base_image.sh TAG: a Python base image from Debian's own packages (bookworm's
# python3), for `make image BASE_IMAGE=TAG` where no container registry is reachable.
# Needs debootstrap and root (sudo when not root); uses debootstrap's default mirror
# unless DEBIAN_MIRROR names another. Does nothing when TAG exists already.
set -euo pipefail
tag=${1:?usage: scripts/base_image.sh TAG}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if $sudo docker image inspect "$tag" >/dev/null 2>&1; then
    exit 0
fi
rootfs=$(mktemp -d)
trap '$sudo rm -rf "$rootfs"' EXIT
$sudo debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >/dev/null
$sudo tar -C "$rootfs" -c . | $sudo docker import - "$tag" >/dev/null
