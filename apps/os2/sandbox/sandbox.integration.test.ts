/**
 * The sandbox image against a real Docker Engine: build, boot, supervision, the daemon's routes from the
 * host through the published port, the terminal WebSocket, agents across a daemon restart, and the tools.
 * Every container carries the label `os2-test.sandbox=<run id>` and is removed in afterAll; on a failure
 * the container id and its logs are printed.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import WebSocket from "ws";

import { httpStatus } from "../test-support/http-status.ts";

const execFileAsync = promisify(execFile);
const sandboxDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(sandboxDir, "../../..");
const IMAGE = process.env.LOCAL_DOCKER_IMAGE_NAME || "iterate-sandbox:local";
const TOKEN = `tok-${randomBytes(8).toString("hex")}`;
const RUN_LABEL = `os2-test.sandbox=${randomBytes(6).toString("hex")}`;
const SERVICE = "/opt/os2/services/iterate-server";

const docker = async (...args: string[]) =>
  (await execFileAsync("docker", args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();

/** Runs a command in the container; resolves with its exit code instead of throwing. */
async function dockerExec(id: string, ...cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync("docker", ["exec", id, ...cmd]);
    return { code: 0, stdout: stdout.trim(), stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: (e.stdout ?? "").trim(), stderr: e.stderr ?? "" };
  }
}

function runStreaming(command: string, args: string[], cwd = repoRoot): Promise<number> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, stdio: "inherit" });
    child.on("close", (code) => done(code ?? 1));
  });
}

type Sandbox = {
  id: string;
  base: string;
  call: (path: string, init?: RequestInit & { json?: unknown }) => Promise<Response>;
};
const containers: string[] = [];

async function startSandbox(): Promise<Sandbox> {
  const id = await docker(
    "run",
    "-d",
    "--label",
    RUN_LABEL,
    "-p",
    "127.0.0.1:0:3000",
    "-e",
    `MACHINE_AUTH_TOKEN=${TOKEN}`,
    IMAGE,
  );
  containers.push(id);
  const port = (await docker("port", id, "3000/tcp")).split("\n")[0]?.split(":").pop();
  const base = `http://127.0.0.1:${port}`;
  const call: Sandbox["call"] = (path, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${TOKEN}`);
    if (init.json !== undefined) headers.set("content-type", "application/json");
    return fetch(`${base}${path}`, {
      ...init,
      headers,
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    });
  };
  return { id, base, call };
}

async function waitForHealth(base: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if ((await httpStatus(`${base}/api/health`, { timeoutMs: 500 })) === 200) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no healthy /api/health at ${base} within ${timeoutMs} ms`);
}

async function daemonPid(id: string): Promise<number> {
  return Number((await dockerExec(id, "s6-svstat", "-o", "pid", SERVICE)).stdout);
}

async function pollUntil<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("sandbox image", () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    // Builds (or refreshes from cache) the image exactly as a developer would, base stand-in included.
    expect(await runStreaming("bash", [join(repoRoot, "scripts/ensure-docker.sh")])).toBe(0);
    // From apps/os2, whose node_modules has tsx.
    expect(
      await runStreaming("npx", ["tsx", join(sandboxDir, "build-local-image.ts")], resolve(sandboxDir, "..")),
    ).toBe(0);
    sandbox = await startSandbox();
  });

  afterEach(() => {
    onTestFailed(async () => {
      for (const id of containers) {
        console.error(`[sandbox test] container ${id} logs:\n${await docker("logs", id).catch(() => "(gone)")}`);
      }
    });
  });

  afterAll(async () => {
    if (containers.length) await docker("rm", "-f", ...containers).catch(() => "");
  });

  it("answers /api/health from the host through the published port within 2 s of docker run", async () => {
    expect(await waitForHealth(sandbox.base, 2000)).toBeLessThan(2000);
    const body = await (await fetch(`${sandbox.base}/api/health`)).json();
    expect(body).toMatchObject({
      status: "ok",
      services: [expect.objectContaining({ name: "iterate-server", state: "up" })],
    });
  });

  it("skips pnpm install on the first boot of a built image", async () => {
    expect(await docker("logs", sandbox.id)).toMatch(
      /lockfile unchanged since the last install; skipping pnpm install/,
    );
  });

  it("restarts a kill -9'd daemon within 2 s, and s6-svstat shows the new process", async () => {
    await pollUntil(
      () => dockerExec(sandbox.id, "s6-svstat", "-o", "ready", SERVICE),
      (r) => r.stdout === "true",
      3000,
    );
    await new Promise((r) => setTimeout(r, 1100)); // s6 delays restarts of services that lived under 1 s.
    const before = await daemonPid(sandbox.id);
    const killedAt = Date.now();
    await dockerExec(sandbox.id, "kill", "-9", String(before));
    const after = await pollUntil(
      () => daemonPid(sandbox.id),
      (pid) => pid > 0 && pid !== before,
      2000,
    );
    await waitForHealth(sandbox.base, 2000);
    expect(Date.now() - killedAt).toBeLessThan(2000);
    expect(after).not.toBe(before);
    expect((await dockerExec(sandbox.id, "s6-svstat", SERVICE)).stdout).toMatch(new RegExp(`^up \\(pid ${after}\\)`));
  });

  it("refuses the API without the token", async () => {
    expect((await fetch(`${sandbox.base}/api/agents`)).status).toBe(401);
  });

  it("execs echo, a failing command and a missing binary with the right exit codes", async () => {
    const run = async (json: unknown) => (await sandbox.call("/api/exec", { method: "POST", json })).json();
    expect(await run({ command: "echo", args: ["hi"] })).toMatchObject({ exitCode: 0, stdout: "hi\n" });
    expect(await run({ command: "sh", args: ["-c", "exit 5"] })).toMatchObject({ exitCode: 5 });
    const missing = await run({ command: "no-such-binary" });
    expect(missing).toMatchObject({ exitCode: 127 });
    expect(missing.stderr).toMatch(/command not found/);
  });

  it("writes a file and reads it back", async () => {
    const write = await sandbox.call("/api/files/write", {
      method: "PUT",
      json: { path: "/workspace/hello.txt", content: "hello sandbox\n" },
    });
    expect(write.status).toBe(200);
    const read = await (await sandbox.call("/api/files/read?path=/workspace/hello.txt")).json();
    expect(read).toMatchObject({ content: "hello sandbox\n", size: 14 });
  });

  it("runs `echo hi` in a WebSocket terminal attached to tmux and reads hi back", async () => {
    const ws = new WebSocket(
      `${sandbox.base.replace("http", "ws")}/api/pty/ws?cols=80&rows=24&tmuxSession=itest&token=${TOKEN}`,
    );
    const output = new Promise<string>((resolveOutput, reject) => {
      let seen = "";
      const timer = setTimeout(
        () => reject(new Error(`no "hi" line; saw ${JSON.stringify(seen.slice(-300))}`)),
        10_000,
      );
      ws.on("message", (data: Buffer) => {
        // tmux repaints with escape sequences (cursor moves, erase-to-end-of-line) around the text, so
        // compare the text only. The typed command shows as h''i, so a bare "hi" line is the output.
        // eslint-disable-next-line no-control-regex -- matching terminal escapes and control bytes is the point
        seen += data.toString().replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]/g, "");
        if (/(^|[^a-z])hi\r\n/.test(seen)) {
          clearTimeout(timer);
          resolveOutput(seen);
        }
      });
      ws.on("error", reject);
    });
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    ws.send(JSON.stringify({ type: "input", data: "echo h''i\r" }));
    expect(await output).toMatch(/(^|[^a-z])hi\r\n/);
    ws.close();
  });

  it("runs a shell agent's prompt in its own tmux session, which survives a daemon restart", async () => {
    const created = await (
      await sandbox.call("/api/agents", { method: "POST", json: { harness: "shell", prompt: "echo agent-$((6*7))" } })
    ).json();
    expect(created).toMatchObject({ harness: "shell" });
    expect(["running", "waiting"]).toContain(created.status);
    const output = () =>
      sandbox
        .call(`/api/agents/${created.id}/output`)
        .then((r) => r.json())
        .then((b: { text: string }) => b.text);
    expect(await pollUntil(output, (t) => t.includes("agent-42"), 5000)).toContain("agent-42");

    await new Promise((r) => setTimeout(r, 1100));
    await dockerExec(sandbox.id, "kill", "-9", String(await daemonPid(sandbox.id)));
    await new Promise((r) => setTimeout(r, 100));
    await waitForHealth(sandbox.base, 3000);

    const { agents } = await (await sandbox.call("/api/agents")).json();
    // The typed command is done: the shell is alive at its prompt, waiting for the next one.
    expect(agents).toEqual([expect.objectContaining({ id: created.id, status: "waiting" })]);
    expect((await dockerExec(sandbox.id, "tmux", "has-session", "-t", `=${created.tmuxSession}`)).code).toBe(0);
    expect(await output()).toContain("agent-42");
  });

  it("serves the daemon's s6-log output, including the restart", async () => {
    const { lines } = await (await sandbox.call("/api/logs/iterate-server?lines=100")).json();
    expect(lines.join("\n")).toMatch(/listening on 0\.0\.0\.0:3000/);
    expect(lines.join("\n")).toMatch(/daemon exited .*s6 restarts it/);
  });

  it.each([
    ["claude", "--version"],
    ["opencode", "--version"],
    ["gh", "--version"],
    ["pnpm", "--version"],
    ["tsx", "--version"],
    ["tmux", "-V"],
  ])("has %s in the image (%s)", async (...cmd) => {
    const result = await dockerExec(sandbox.id, ...cmd);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toBe("");
  });

  it("configures git for the bot identity", async () => {
    expect((await dockerExec(sandbox.id, "git", "config", "user.name")).stdout).toBe("iterate-bot");
  });

  it("runs Node 24 and trusts the build's CA bundle through NODE_EXTRA_CA_CERTS", async () => {
    expect((await dockerExec(sandbox.id, "node", "--version")).stdout).toMatch(/^v24\./);
    expect((await dockerExec(sandbox.id, "printenv", "NODE_EXTRA_CA_CERTS")).stdout).toBe(
      "/etc/ssl/certs/ca-certificates.crt",
    );
  });

  it("stops within 10 s on docker stop, s6 ending the daemon with SIGTERM (tini → s6-svscan)", async () => {
    const other = await startSandbox();
    await waitForHealth(other.base, 3000);
    const started = Date.now();
    await docker("stop", "-t", "15", other.id);
    expect(Date.now() - started).toBeLessThan(10_000);
    // 0: s6-svscan stopped its services and exited by itself (a kill after the timeout would be 137).
    expect(await docker("inspect", "-f", "{{.State.ExitCode}}", other.id)).toBe("0");
  });

  it("boots with one Node process: the entry is a shell that execs s6-svscan", async () => {
    const processes = (await dockerExec(sandbox.id, "ps", "-eo", "args=")).stdout.split("\n").map((p) => p.trim());
    expect(processes.filter((args) => /^node\b/.test(args))).toEqual(["node /opt/os2/daemon/daemon.mjs"]);
    expect(processes).toContain("s6-svscan /opt/os2/services");
  });

  it("runs pnpm install at the next boot when the workspace lockfile changed", async () => {
    const other = await startSandbox();
    await waitForHealth(other.base, 3000);
    const lockfile = "lockfileVersion: '9.0'\n\nimporters:\n\n  .: {}\n";
    const written = await dockerExec(
      other.id,
      "sh",
      "-c",
      `cd /workspace && printf '{"name":"ws","private":true}' > package.json && printf "${lockfile}" > pnpm-lock.yaml`,
    );
    expect(written.code).toBe(0);
    await docker("restart", "-t", "5", other.id);
    const logs = await pollUntil(
      () => docker("logs", other.id),
      (text) => /workspace lockfile changed; running pnpm install/.test(text),
      10_000,
    );
    expect(logs).toMatch(/workspace lockfile changed; running pnpm install/);
    const port = (await docker("port", other.id, "3000/tcp")).split("\n")[0]?.split(":").pop();
    await waitForHealth(`http://127.0.0.1:${port}`, 10_000); // the daemon comes up whatever the install did
    // The hash is recorded once installed, so the boot after skips it again.
    await docker("restart", "-t", "5", other.id);
    const after = await pollUntil(
      () => docker("logs", other.id),
      (text) => (text.match(/lockfile unchanged since the last install/g) ?? []).length >= 2,
      10_000,
    );
    expect((after.match(/lockfile unchanged since the last install/g) ?? []).length).toBeGreaterThanOrEqual(2);
  });
});
