import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { DaemonConfig } from "./config";
import { createDaemonServer } from "./server";

export const TEST_TOKEN = "test-machine-token";

/** Responses whose JSON body is an object: tests read fields and let expect() check their types. */
export type TestResponse = Omit<Response, "json"> & { json(): Promise<Record<string, unknown>> };

type DaemonServer = ReturnType<typeof createDaemonServer>;

export type TestDaemon = {
  config: DaemonConfig;
  app: DaemonServer["app"];
  /** The server-side WebSockets of the terminal route (to look at `bufferedAmount`). */
  wss: DaemonServer["wss"];
  /** The OOM watch; it does not poll in tests (`oomPollMs: 0`): call `oom.tick()`. */
  oom: DaemonServer["oom"];
  /** Sends a request with the machine token unless `auth: false`, in-process (no socket). */
  call: (path: string, init?: RequestInit & { auth?: boolean; json?: unknown }) => Promise<TestResponse>;
  /** Serves this daemon (the same server as `main.ts`: Hono, the forward, upgrades) on 127.0.0.1:<random>. */
  listen: () => Promise<{ port: number; base: string }>;
  /** A second app over the same state and tmux server, as after a daemon restart. */
  restart: () => TestDaemon;
  cleanup: () => Promise<void>;
};

/** A daemon app over fresh temp dirs and a private tmux socket, so tests never touch the host's tmux. */
export async function createTestDaemon(overrides: Partial<DaemonConfig> = {}): Promise<TestDaemon> {
  const root = await mkdtemp(join(tmpdir(), "os2-daemon-test-"));
  // The terminals' login shells read $HOME's rc files: a host's (pyenv, cargo…) must not run in tests, where
  // a shell killed at cleanup can leave e.g. pyenv's rehash lock behind and stall every later shell.
  process.env.HOME = join(root, ".home");
  await mkdir(process.env.HOME, { recursive: true });
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
    // No cgroup by default (its counter is the host's here); OOM tests give fixtures and call oom.tick().
    cgroupRoot: join(root, ".cgroup"),
    procRoot: "/proc",
    oomPollMs: 0,
    childOomScoreAdj: 500,
    ...overrides,
  };
  const servers: DaemonServer["server"][] = [];
  const build = (): TestDaemon => {
    const { app, server, wss, oom } = createDaemonServer(config);
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
    const listen = async () => {
      if (!server.listening) {
        servers.push(server);
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      }
      const { port } = server.address() as AddressInfo;
      return { port, base: `http://127.0.0.1:${port}` };
    };
    return { config, app, wss, oom, call, listen, restart: build, cleanup };
  };
  const cleanup = async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    try {
      execFileSync("tmux", ["-S", config.tmuxSocket ?? "", "kill-server"], { stdio: "ignore" });
    } catch {
      // No server was started.
    }
    await rm(root, { recursive: true, force: true });
  };
  return build();
}
