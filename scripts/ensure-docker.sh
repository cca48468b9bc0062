#!/usr/bin/env bash
# Makes sure a Docker Engine answers on tcp://127.0.0.1:2375 (the endpoint OrbStack and Docker Desktop
# expose when their TCP API is enabled). On Debian as root it installs docker.io and starts dockerd in the
# background; elsewhere it only checks and explains.
set -euo pipefail
endpoint="${DOCKER_TCP_ENDPOINT:-http://127.0.0.1:2375}"

if curl -sf -m 2 "$endpoint/version" >/dev/null; then
  exit 0
fi

if [ "$(id -u)" != "0" ] || [ ! -f /etc/debian_version ]; then
  echo "Docker Engine is not reachable at $endpoint." >&2
  echo "Enable the Docker TCP API (OrbStack: Settings -> Docker -> \"hosts\": [\"tcp://127.0.0.1:2375\", \"unix:///var/run/docker.sock\"])," >&2
  echo "or set DOCKER_HOST to your engine." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null; then
  echo "[ensure-docker] installing docker.io from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io >/dev/null
fi

if ! pgrep -x dockerd >/dev/null; then
  echo "[ensure-docker] starting dockerd"
  # In a session of its own, so ending the shell or test run that started it (its process group) leaves it up.
  setsid nohup dockerd -H unix:///var/run/docker.sock -H tcp://127.0.0.1:2375 >/var/log/dockerd.log 2>&1 < /dev/null &
fi

for _ in $(seq 1 60); do
  if curl -sf -m 2 "$endpoint/version" >/dev/null; then
    echo "[ensure-docker] Docker Engine ready at $endpoint"
    exit 0
  fi
  sleep 0.5
done
echo "[ensure-docker] dockerd did not answer within 30 s; see /var/log/dockerd.log" >&2
tail -20 /var/log/dockerd.log >&2 || true
exit 1
