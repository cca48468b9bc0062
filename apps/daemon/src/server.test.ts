import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, get } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { forwardPath, MACHINE_TOKEN_HEADER } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";

const TOKEN = "process-test-token";
const daemonDir = fileURLToPath(new URL("..", import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const status = (url: string, headers: Record<string, string> = {}) =>
  new Promise<number>((resolve) => {
    const req = get(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
  });

/**
 * The bundled daemon (`build.mjs`, what the image runs) as its own process, for the guarantees an
 * in-process test cannot show: an uncaught error here ends the process, as it would end the daemon.
 */
describe("the daemon process", () => {
  let root: string;
  let daemon: ChildProcess;
  let base: string;
  let exited: string | undefined;
  const echo = new WebSocketServer({ port: 0, host: "127.0.0.1" });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "os2-daemon-process-"));
    const bundle = join(root, "daemon.mjs");
    execFileSync(process.execPath, ["build.mjs", bundle], { cwd: daemonDir, stdio: "ignore" });
    const port = await freePort();
    const { OS2_READY_FD: _notOurs, ...env } = process.env;
    daemon = spawn(process.execPath, [bundle], {
      env: {
        ...env,
        PORT: String(port),
        HOST: "127.0.0.1",
        MACHINE_AUTH_TOKEN: TOKEN,
        OS2_WORKSPACE_DIR: root,
        OS2_STATE_DIR: join(root, ".state"),
        OS2_TMUX_SOCKET: join(root, ".tmux.sock"),
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    daemon.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    daemon.on("exit", (code, signal) => (exited = `exit ${code} ${signal}; stderr: ${stderr}`));
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 200 && (await status(`${base}/api/health`)) !== 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    echo.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
  });

  afterAll(async () => {
    daemon.kill("SIGKILL");
    echo.close();
    try {
      execFileSync("tmux", ["-S", join(root, ".tmux.sock"), "kill-server"], { stdio: "ignore" });
    } catch {
      // No tmux server was started.
    }
    await rm(root, { recursive: true, force: true });
  });

  it("survives clients that reset their sockets in the middle of an upgrade (terminal and forward)", async () => {
    const echoPort = (echo.address() as AddressInfo).port;
    const resetMidUpgrade = (path: string, afterMs: number) =>
      new Promise<void>((resolve) => {
        const socket = connect(Number(new URL(base).port), "127.0.0.1", () => {
          socket.write(
            `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
              `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
              `${MACHINE_TOKEN_HEADER}: ${TOKEN}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
          );
          // The daemon is still working on the upgrade (creating the tmux session, connecting to the app).
          setTimeout(() => {
            socket.resetAndDestroy();
            resolve();
          }, afterMs);
        });
        socket.on("error", () => resolve()); // the daemon is gone: the expectations below say so
      });
    for (let i = 0; i < 6; i++) {
      await resetMidUpgrade(`/api/pty/ws?tmuxSession=reset${i}`, i % 3);
      await resetMidUpgrade(forwardPath(echoPort, "/"), i % 3);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(exited).toBeUndefined();
    expect(await status(`${base}/api/health`)).toBe(200);
  });

  it("serves the forward and the terminal WebSocket side by side", async () => {
    const echoPort = (echo.address() as AddressInfo).port;
    const ws = new WebSocket(`${base.replace("http", "ws")}${forwardPath(echoPort, "/")}`, {
      headers: { [MACHINE_TOKEN_HEADER]: TOKEN },
    });
    const echoed = new Promise<string>((resolve, reject) => {
      ws.once("message", (data: Buffer) => resolve(data.toString()));
      ws.once("error", reject);
    });
    ws.once("open", () => ws.send("ping"));
    expect(await echoed).toBe("ping");
    ws.close();

    const pty = new WebSocket(`${base.replace("http", "ws")}/api/pty/ws?tmuxSession=side`, {
      headers: { [MACHINE_TOKEN_HEADER]: TOKEN },
    });
    const frame = new Promise<Buffer>((resolve, reject) => {
      pty.once("message", (data: Buffer) => resolve(data));
      pty.once("error", reject);
    });
    expect((await frame).length).toBeGreaterThan(0);
    pty.close();
    expect(exited).toBeUndefined();
  });
});
