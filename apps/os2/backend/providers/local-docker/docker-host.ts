/**
 * Where the Docker Engine lives. The entry point reads `DOCKER_HOST` and passes the value to
 * `resolveDockerHost`; the provider only ever sees the resolved string.
 */
import { access } from "node:fs/promises";
import { connect } from "node:net";

import type Dockerode from "dockerode";

export const DEFAULT_DOCKER_HOST = "tcp://127.0.0.1:2375";
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

const TCP_PROBE_TIMEOUT_MS = 500;

/**
 * Picks the Docker endpoint. An explicit `DOCKER_HOST` always wins. Otherwise the TCP API on
 * 127.0.0.1:2375 (what OrbStack and Docker Desktop users enable, and what CI starts), falling back to the
 * unix socket when TCP does not answer and the socket exists. When neither works we still return the TCP
 * default, so the provider's "not reachable" message names the endpoint users are told to enable.
 */
export async function resolveDockerHost(envValue: string | undefined): Promise<string> {
  const explicit = envValue?.trim();
  if (explicit) return explicit;
  if (await isTcpPortOpen("127.0.0.1", 2375, TCP_PROBE_TIMEOUT_MS)) return DEFAULT_DOCKER_HOST;
  if (await pathExists(DEFAULT_DOCKER_SOCKET)) return `unix://${DEFAULT_DOCKER_SOCKET}`;
  return DEFAULT_DOCKER_HOST;
}

/**
 * Turns a DOCKER_HOST-style string into dockerode options. Every field docker-modem would otherwise fill
 * from `process.env` (DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_CLIENT_TIMEOUT…) is set explicitly, so the
 * adapter's behaviour depends on its constructor argument only. No `version`: the client must negotiate,
 * because engines here speak 1.41 while Docker 29 refuses clients older than 1.44.
 */
export function toDockerodeOptions(dockerHost: string): Dockerode.DockerOptions {
  const cleared = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    version: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    timeout: undefined,
  };
  if (dockerHost.startsWith("unix://")) {
    return { ...cleared, socketPath: dockerHost.slice("unix://".length) || DEFAULT_DOCKER_SOCKET };
  }
  if (dockerHost.startsWith("/")) return { ...cleared, socketPath: dockerHost };
  const withScheme = dockerHost.includes("://") ? dockerHost : `tcp://${dockerHost}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(invalidHostMessage(dockerHost));
  }
  if (!["tcp:", "http:"].includes(url.protocol) || !url.hostname) {
    // TLS (tcp://…:2376 with certificates) and ssh:// are not supported: os2 talks to a local engine.
    throw new Error(invalidHostMessage(dockerHost));
  }
  return { ...cleared, protocol: "http", host: url.hostname, port: url.port || "2375" };
}

function invalidHostMessage(dockerHost: string): string {
  return `Unsupported DOCKER_HOST "${dockerHost}". Use tcp://127.0.0.1:2375 or unix:///var/run/docker.sock.`;
}

function isTcpPortOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
