import Dockerode from "dockerode";
import { afterEach, expect, test, vi } from "vitest";

import { toDockerodeOptions } from "./docker-host";

afterEach(() => vi.unstubAllEnvs());

type ModemFields = { host?: string; port?: string; socketPath?: unknown; timeout?: number; version?: string };

test("the Docker client targets the configured endpoint, whatever DOCKER_HOST and DOCKER_CLIENT_TIMEOUT say", () => {
  vi.stubEnv("DOCKER_HOST", "tcp://10.9.9.9:2376");
  vi.stubEnv("DOCKER_CLIENT_TIMEOUT", "1");
  const unix = new Dockerode(toDockerodeOptions("unix:///var/run/docker.sock")).modem as ModemFields;
  expect(unix).toMatchObject({
    host: undefined,
    socketPath: "/var/run/docker.sock",
    timeout: undefined,
    version: undefined,
  });
  const tcp = new Dockerode(toDockerodeOptions("tcp://127.0.0.1:2375")).modem as ModemFields;
  expect(tcp).toMatchObject({ host: "127.0.0.1", port: "2375", timeout: undefined, version: undefined });
  expect(toDockerodeOptions("127.0.0.1:2375")).toMatchObject({ host: "127.0.0.1", port: "2375" });
});

test("toDockerodeOptions rejects endpoints os2 cannot talk to, naming the supported forms", () => {
  expect(() => toDockerodeOptions("ssh://user@host")).toThrow(
    /Unsupported DOCKER_HOST "ssh:\/\/user@host"\. Use tcp:\/\/127\.0\.0\.1:2375 or unix:\/\/\/var\/run\/docker\.sock/,
  );
  expect(() => toDockerodeOptions("npipe:////./pipe/docker_engine")).toThrow(/Unsupported DOCKER_HOST/);
});
