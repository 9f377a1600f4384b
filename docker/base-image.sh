#!/bin/bash
# Makes debian:bookworm-slim locally when no registry can give it: a minimal
# Debian 12 (debootstrap --variant=minbase) imported as that image. A machine
# that can pull it never needs this. Needs root, debootstrap and a running
# Docker engine; prints the image id.
#   docker/base-image.sh [MIRROR]    (default http://deb.debian.org/debian)
set -euo pipefail
IMAGE=debian:bookworm-slim
DOCKER=${DOCKER:-docker}
if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  "$DOCKER" image inspect -f '{{.Id}}' "$IMAGE"
  exit 0
fi
mirror=${1:-http://deb.debian.org/debian}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" >&2
# What the official slim image leaves out, so images built on it stay small.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
tar -C "$root" -c . | "$DOCKER" import - "$IMAGE" >/dev/null
"$DOCKER" image inspect -f '{{.Id}}' "$IMAGE"
