#!/usr/bin/env bash
# Prepares a machine for the full test suite: a Docker Engine on tcp://127.0.0.1:2375, a PostgreSQL server
# for the database suite, and Debian's Chromium for Playwright. On Debian as root it installs and starts
# what is missing; elsewhere it checks and says what to provide (DATABASE_URL_TEST, CHROMIUM_PATH, Docker).
# Prints `export …` lines for the caller to eval.
set -euo pipefail
log() { echo "[ensure-test-env] $*" >&2; }
is_debian_root() { [ "$(id -u)" = "0" ] && [ -f /etc/debian_version ]; }
apt_updated=""
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  log "apt-get install $*"
  apt-get install -y -qq "$@" >/dev/null
}

# 1. Docker Engine
bash "$(dirname "$0")/ensure-docker.sh" >&2

# 2. Tools the sandbox image build and tests use on registry-less hosts
if is_debian_root; then
  missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v tmux >/dev/null || missing+=(tmux)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
fi

# 3. Chromium for Playwright
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  log "Chromium not found at $chromium: install Debian's chromium or set CHROMIUM_PATH."
  exit 1
fi
echo "export CHROMIUM_PATH=$chromium"

# 4. Service controls for the fault tests (backend/faults.integration.test.ts): commands that stop and start
# the Docker Engine and the PostgreSQL server. Set here for the engine and cluster this script manages;
# elsewhere set OS2_TEST_{DOCKER,POSTGRES}_{STOP,START} yourself.
scripts_dir=$(cd "$(dirname "$0")" && pwd)
if is_debian_root && [ -z "${OS2_TEST_DOCKER_STOP:-}" ]; then
  echo "export OS2_TEST_DOCKER_STOP='pkill -x dockerd; while pgrep -x dockerd >/dev/null; do sleep 0.2; done'"
  echo "export OS2_TEST_DOCKER_START='bash $scripts_dir/ensure-docker.sh >&2'"
fi
for name in OS2_TEST_DOCKER_STOP OS2_TEST_DOCKER_START OS2_TEST_POSTGRES_STOP OS2_TEST_POSTGRES_START; do
  if [ -n "${!name:-}" ]; then printf "export %s=%q\n" "$name" "${!name}"; fi
done

# 5. PostgreSQL server for the database suite
if [ -n "${DATABASE_URL_TEST:-}" ]; then
  echo "export DATABASE_URL_TEST=$DATABASE_URL_TEST"
  exit 0
fi
if ! is_debian_root; then
  log "Set DATABASE_URL_TEST to a PostgreSQL server URL whose user may create databases."
  exit 1
fi
command -v pg_ctlcluster >/dev/null || apt_install postgresql
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | grep "^$version *main" | grep -q online; then
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 40); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.25
done
su postgres -c "psql -qtAc \"do \\\$\\\$ begin if not exists (select from pg_roles where rolname='os2test') then create role os2test login createdb password 'os2test'; end if; end \\\$\\\$;\"" >/dev/null
if [ -z "${OS2_TEST_POSTGRES_STOP:-}" ]; then
  echo "export OS2_TEST_POSTGRES_STOP='pg_ctlcluster --skip-systemctl-redirect $version main stop -m fast'"
  echo "export OS2_TEST_POSTGRES_START='pg_ctlcluster --skip-systemctl-redirect $version main start'"
fi
echo "export DATABASE_URL_TEST=postgres://os2test:os2test@127.0.0.1:5432/postgres"
