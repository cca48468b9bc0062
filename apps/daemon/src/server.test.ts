import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, get } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { execResultSchema, forwardPath, healthResponseSchema, MACHINE_TOKEN_HEADER } from "@os2/protocol";
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

/**
 * The bundled daemon started the way the hardened image starts it: as an unprivileged user (here `nobody`,
 * uid 65534, which every Debian has) whose inherited environment still says HOME=/root, over a state
 * directory it may not write. Needs root to switch users (setpriv), as the build machines have.
 */
describe.skipIf(process.getuid?.() !== 0)("the daemon process as an unprivileged user", () => {
  const NOBODY = 65534;
  let root: string;
  let daemon: ChildProcess;
  let base: string;
  let stderr = "";
  const call = async (path: string, json?: unknown, method = json === undefined ? "GET" : "POST") => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "os2-daemon-nobody-"));
    const bundle = join(root, "daemon.mjs");
    execFileSync(process.execPath, ["build.mjs", bundle], { cwd: daemonDir, stdio: "ignore" });
    await chown(root, NOBODY, NOBODY); // the workspace and the tmux socket: the user's own
    await chmod(root, 0o755);
    await mkdir(join(root, "root-owned"), { mode: 0o755 }); // the state dir, still root's
    await mkdir(join(root, "private"), { mode: 0o700 });
    const port = await freePort();
    const { OS2_READY_FD: _notOurs, ...env } = process.env;
    daemon = spawn(
      "setpriv",
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", process.execPath, bundle],
      {
        env: {
          ...env,
          HOME: "/root",
          USER: "root",
          PORT: String(port),
          HOST: "127.0.0.1",
          MACHINE_AUTH_TOKEN: TOKEN,
          OS2_WORKSPACE_DIR: root,
          OS2_STATE_DIR: join(root, "root-owned", "state"),
          OS2_TMUX_SOCKET: join(root, ".tmux.sock"),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    daemon.stdout?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    daemon.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 200 && (await status(`${base}/api/health`)) !== 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
  });

  afterAll(async () => {
    daemon.kill("SIGKILL");
    try {
      execFileSync("tmux", ["-S", join(root, ".tmux.sock"), "kill-server"], { stdio: "ignore" });
    } catch {
      // No tmux server was started.
    }
    await rm(root, { recursive: true, force: true });
  });

  it("answers health with the OOM report, and logs which directory it cannot write and as whom", async () => {
    const health = healthResponseSchema.parse(await (await fetch(`${base}/api/health`)).json());
    expect(health.oom).toMatchObject({ kills: expect.any(Number), recent: expect.any(Array) });
    expect(stderr).toContain("running as nobody (uid 65534), HOME=/nonexistent (set from the password database)");
    expect(stderr).toMatch(
      /warning: cannot write .*root-owned\/state: permission denied \(EACCES\); the daemon runs as nobody \(uid 65534\)/,
    );
  });

  it("gives commands the user's home instead of the inherited HOME=/root, and raises their oom_score_adj unprivileged", async () => {
    const { body } = await call("/api/exec", {
      command: "sh",
      args: ["-c", "id -u; echo $HOME $USER; cat /proc/self/oom_score_adj"],
    });
    expect(execResultSchema.parse(body).stdout).toBe("65534\n/nonexistent nobody\n500\n");
  });

  it("says which path and which user when it cannot write the agents file", async () => {
    const { status: code, body } = await call("/api/agents", { harness: "shell" });
    expect(code).toBe(500);
    expect(body.message).toBe(
      `cannot create ${join(root, "root-owned", "state")}: permission denied (EACCES); the daemon runs as nobody (uid 65534) (OS2_STATE_DIR)`,
    );
  });

  it("refuses a working directory the user may not enter, and a file it may not write, naming the user", async () => {
    const exec = await call("/api/exec", { command: "true", cwd: join(root, "private") });
    expect(exec.status).toBe(400);
    expect(exec.body.message).toBe(
      `cwd: ${join(root, "private")} may not be entered by nobody (uid 65534), the user the daemon runs as`,
    );
    const write = await call("/api/files/write", { path: join(root, "root-owned", "x.txt"), content: "x" }, "PUT");
    expect(write.status).toBe(400);
    expect(write.body.message).toBe(
      `path: permission denied for ${join(root, "root-owned", "x.txt")}; the daemon runs as nobody (uid 65534)`,
    );
  });

  it("runs tmux sessions as the user, raised like every child", async () => {
    const created = await call("/api/tmux/sessions", { name: "mine", command: "sleep 600" });
    expect(created.status).toBe(201);
    const pid = execFileSync(
      "tmux",
      ["-S", join(root, ".tmux.sock"), "display-message", "-p", "-t", "=mine:", "#{pid}"],
      {
        encoding: "utf8",
      },
    ).trim();
    expect(execFileSync("stat", ["-c", "%u", `/proc/${pid}`], { encoding: "utf8" }).trim()).toBe(String(NOBODY));
    expect(execFileSync("cat", [`/proc/${pid}/oom_score_adj`], { encoding: "utf8" }).trim()).toBe("500");
  });
});
