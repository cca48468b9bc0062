#!/usr/bin/env bash
# Prints the name of a local Docker image that has `node` on its PATH, for integration tests to build
# tiny fixture images `FROM` it. There is no image registry here (`docker pull` fails), so:
#   1. use the first existing of: iterate-sandbox:local, node:24-bookworm-slim, os2-test-base:bookworm;
#   2. otherwise build os2-test-base:bookworm with debootstrap (minbase + Debian's nodejs) and
#      `docker import` it. Takes about a minute once; later runs reuse the image.
# The Debian mirror comes from the machine's apt configuration, never from a hard-coded host name.
# Output: the image name on stdout (last line); progress goes to stderr.
set -euo pipefail

FALLBACK_IMAGE="os2-test-base:bookworm"
CANDIDATES=("iterate-sandbox:local" "node:24-bookworm-slim" "$FALLBACK_IMAGE")

for image in "${CANDIDATES[@]}"; do
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
  fi
done

log() { echo "ensure-test-base-image: $*" >&2; }

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >&2
fi

SOURCES=/etc/apt/sources.list.d/debian.sources
MIRROR="$(grep -m1 '^URIs:' "$SOURCES" 2>/dev/null | awk '{print $2}' || true)"
if [ -z "$MIRROR" ]; then
  echo "ensure-test-base-image: no 'URIs:' line in $SOURCES; cannot pick a Debian mirror" >&2
  exit 1
fi

ROOTFS="$(mktemp -d /tmp/os2-test-base.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT

log "debootstrap bookworm (minbase + nodejs) from $MIRROR into $ROOTFS"
debootstrap --variant=minbase --include=nodejs bookworm "$ROOTFS" "$MIRROR" >&2
# Drop the package cache so the imported image stays small.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*

log "importing as $FALLBACK_IMAGE"
tar -C "$ROOTFS" -c . | docker import - "$FALLBACK_IMAGE" >&2
echo "$FALLBACK_IMAGE"
