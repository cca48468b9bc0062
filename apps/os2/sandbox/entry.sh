#!/bin/sh
# Sandbox entry point, run by tini (PID 1) as the machine's user. A shell, not Node: every boot of every
# machine runs it, and one Node start here cost about as much as the daemon's own.
#
# 1. Workspace: when $OS2_WORKSPACE_DIR/pnpm-lock.yaml differs from the lockfile last installed (its sha256
#    is in $OS2_STATE_DIR/workspace-lockfile.sha256; the image build writes it, so a fresh image matches),
#    prepare-workspace.js runs `pnpm install` and records the new hash. A failed install does not stop the
#    boot. The comparison here is the fast path; prepare-workspace.js compares again and decides.
# 2. s6: exec s6-svscan over the service directory. tini forwards SIGTERM/SIGINT to it, and s6-svscan stops
#    every service and exits; Docker's stop timeout kills whatever is left.
set -u
workspace="${OS2_WORKSPACE_DIR:-/workspace}"
state_file="${OS2_STATE_DIR:-/var/lib/os2}/workspace-lockfile.sha256"
scan_dir="${OS2_S6_SCAN_DIR:-/opt/os2/services}"

current=none
if [ -f "$workspace/pnpm-lock.yaml" ]; then
  current=$(sha256sum "$workspace/pnpm-lock.yaml" | cut -d ' ' -f 1)
fi
previous=
if [ -r "$state_file" ]; then
  read -r previous < "$state_file" || true
fi

if [ "$current" = "$previous" ]; then
  echo "[entry] workspace lockfile unchanged since the last install; skipping pnpm install"
else
  node /opt/os2/prepare-workspace.js || echo "[entry] preparing the workspace failed; booting anyway"
fi

exec s6-svscan "$scan_dir"
