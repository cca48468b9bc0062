#!/usr/bin/env bash
# The daemon's route tests drive the real tools it drives in the image: tmux, s6 (s6-svscan, s6-svstat)
# and util-linux `script`. On Debian as root, install whatever is missing; elsewhere, say what is needed.
set -euo pipefail
missing=()
command -v tmux >/dev/null || missing+=(tmux)
command -v s6-svscan >/dev/null || missing+=(s6)
command -v script >/dev/null || missing+=(bsdutils)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "[daemon tests] installing ${missing[*]} from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "[daemon tests] please install: ${missing[*]}" >&2
exit 1
