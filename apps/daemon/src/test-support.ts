import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { createDaemonApp } from "./app";
import type { DaemonConfig } from "./config";

export const TEST_TOKEN = "test-machine-token";

/** Responses whose JSON body is an object: tests read fields and let expect() check their types. */
export type TestResponse = Omit<Response, "json"> & { json(): Promise<Record<string, unknown>> };

export type TestDaemon = {
  config: DaemonConfig;
  app: ReturnType<typeof createDaemonApp>["app"];
  injectWebSocket: ReturnType<typeof createDaemonApp>["injectWebSocket"];
  /** Sends a request with the machine token unless `auth: false`. */
  call: (path: string, init?: RequestInit & { auth?: boolean; json?: unknown }) => Promise<TestResponse>;
  /** A second app over the same state and tmux server, as after a daemon restart. */
  restart: () => TestDaemon;
  cleanup: () => Promise<void>;
};

/** A daemon app over fresh temp dirs and a private tmux socket, so tests never touch the host's tmux. */
export async function createTestDaemon(overrides: Partial<DaemonConfig> = {}): Promise<TestDaemon> {
  const root = await mkdtemp(join(tmpdir(), "os2-daemon-test-"));
  const config: DaemonConfig = {
    port: 0,
    host: "127.0.0.1",
    authToken: TEST_TOKEN,
    workspaceDir: root,
    stateDir: join(root, ".state"),
    s6ScanDir: join(root, ".services"),
    logDir: join(root, ".logs"),
    filesMaxBytes: 1024,
    execMaxOutputBytes: 1024 * 1024,
    tmuxSocket: join(root, ".tmux.sock"),
    readyFd: undefined,
    version: "test",
    ...overrides,
  };
  const build = (): TestDaemon => {
    const { app, injectWebSocket } = createDaemonApp(config);
    const call: TestDaemon["call"] = (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (init.auth !== false) headers.set("authorization", `Bearer ${TEST_TOKEN}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set("content-type", "application/json");
        body = JSON.stringify(init.json);
      }
      return Promise.resolve(app.request(path, { ...init, headers, body })) as Promise<TestResponse>;
    };
    return { config, app, injectWebSocket, call, restart: build, cleanup };
  };
  const cleanup = async () => {
    try {
      execFileSync("tmux", ["-S", config.tmuxSocket ?? "", "kill-server"], { stdio: "ignore" });
    } catch {
      // No server was started.
    }
    await rm(root, { recursive: true, force: true });
  };
  return build();
}
