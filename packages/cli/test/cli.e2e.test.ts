/**
 * The os2 CLI as a person runs it, against a real os2 and a real Docker machine: separate processes, real
 * pipes, and for `os2 shell` a real terminal (a tmux pane on this computer).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { Os2 } from "@os2/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type RunningOs2, startOs2 } from "../../sdk/test/os2-server";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/os2.js");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "os2-cli-e2e-"));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("os2 CLI end to end", () => {
  let server: RunningOs2;
  let env: Record<string, string>;
  const machineName = "cli-e2e";
  const tmuxSocket = `os2-cli-e2e-${process.pid}`;
  const tmux = (...args: string[]) =>
    execFileSync("tmux", ["-L", tmuxSocket, "-f", "/dev/null", ...args], { encoding: "utf8" });

  const run = (args: string[], options: { input?: string | Buffer; extraEnv?: Record<string, string> } = {}) =>
    spawnSync(process.execPath, [bin, ...args], {
      env: { ...env, ...options.extraEnv },
      cwd: work,
      input: options.input ?? "",
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });

  beforeAll(async () => {
    server = await startOs2("cli-e2e");
    const { OS2_URL: _u, OS2_TOKEN: _t, ...rest } = process.env as Record<string, string>;
    env = { ...rest, XDG_CONFIG_HOME: path.join(work, "config"), OS2_URL: server.url, OS2_TOKEN: server.token };
    await new Os2({ baseUrl: server.url, token: server.token }).machines.create({ name: machineName, wait: true });
  });
  afterAll(async () => {
    spawnSync("tmux", ["-L", tmuxSocket, "kill-server"]);
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("login checks the token and saves it 0600; whoami then works without OS2_* variables", () => {
    const login = run(["login", "--url", server.url, "--token", server.token]);
    expect(login.status, login.stderr.toString()).toBe(0);
    const file = path.join(work, "config", "os2", "config.json");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const { OS2_URL: _u, OS2_TOKEN: _t, ...withoutEnv } = env;
    const whoami = spawnSync(process.execPath, [bin, "whoami", "--json"], { env: withoutEnv, encoding: "utf8" });
    expect(whoami.status, whoami.stderr).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ source: "file", project: { name: "cli-e2e project" } });
    const refused = run(["login", "--url", server.url, "--token", "pat_wrong"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr.toString()).toContain("unauthorized");
  });

  it("machines ls --json and get show the machine", () => {
    const ls = run(["machines", "ls", "--json"]);
    expect(ls.status, ls.stderr.toString()).toBe(0);
    const machines = JSON.parse(ls.stdout.toString()) as { name: string; state: string }[];
    expect(machines).toContainEqual(expect.objectContaining({ name: machineName, state: "running" }));
    const get = run(["machines", "get", machineName]);
    expect(get.stdout.toString()).toMatch(/state\s+running/);
    const missing = run(["machines", "get", "nope"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr.toString()).toContain("not_found");
  });

  it("exec exits with the command's exit code, 128+n after a signal", () => {
    expect(run(["exec", machineName, "--", "sh", "-c", "exit 7"]).status).toBe(7);
    expect(run(["exec", machineName, "--", "true"]).status).toBe(0);
    expect(run(["exec", machineName, "--", "sh", "-c", "kill -KILL $$"]).status).toBe(137);
    expect(run(["exec", machineName, "--", "no-such-binary-here"]).status).toBe(127);
  });

  it("exec passes args, env, cwd and stdin, and keeps stdout and stderr apart", () => {
    const result = run(
      [
        "exec",
        machineName,
        "--cwd",
        "/tmp",
        "-e",
        "A=1",
        "-e",
        "B=two words",
        "--",
        "sh",
        "-c",
        'pwd; echo "$A $B"; cat; echo err >&2',
        "x",
      ],
      { input: "from stdin\n" },
    );
    expect(result.status, result.stderr.toString()).toBe(0);
    expect(result.stdout.toString()).toBe("/tmp\n1 two words\nfrom stdin\n");
    expect(result.stderr.toString()).toBe("err\n");
  });

  it("exec streams stdout as the command prints it, not when it exits", async () => {
    const child = spawn(
      process.execPath,
      [bin, "exec", machineName, "--no-stdin", "--", "sh", "-c", "echo first; sleep 3; echo second"],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const started = Date.now();
    let firstAt = 0;
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!firstAt && stdout.includes("first")) firstAt = Date.now() - started;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    const exitAt = Date.now() - started;
    expect(code).toBe(0);
    expect(stdout).toBe("first\nsecond\n");
    expect(exitAt - firstAt).toBeGreaterThan(2_000);
  });

  it("exec forwards binary stdin byte for byte", () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0xc3, 0x28]); // not valid UTF-8
    const result = run(["exec", machineName, "--", "od", "-An", "-tx1"], { input: bytes });
    expect(result.status, result.stderr.toString()).toBe(0);
    expect(result.stdout.toString().trim().split(/\s+/)).toEqual(["00", "ff", "fe", "80", "0a", "c3", "28"]);
  });

  it("cp round-trips a binary file both ways, and - reads stdin and writes stdout", () => {
    const original = randomBytes(3 * 1024 * 1024 + 17);
    fs.writeFileSync(path.join(work, "blob.bin"), original);
    const up = run(["cp", "blob.bin", `${machineName}:cp-test/`]);
    expect(up.status, up.stderr.toString()).toBe(0);
    fs.mkdirSync(path.join(work, "down"));
    const down = run(["cp", `${machineName}:cp-test/blob.bin`, "down"]);
    expect(down.status, down.stderr.toString()).toBe(0);
    expect(fs.readFileSync(path.join(work, "down", "blob.bin")).equals(original)).toBe(true);

    expect(run(["cp", "-", `${machineName}:cp-test/piped.txt`], { input: "piped\n" }).status).toBe(0);
    const cat = run(["cp", `${machineName}:cp-test/piped.txt`, "-"]);
    expect(cat.stdout.toString()).toBe("piped\n");
    expect(run(["cp", `${machineName}:cp-test/none`, "x"]).status).toBe(1);
  });

  /** The pane's text, polled until `needle` shows. */
  async function paneShows(target: string, needle: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = "";
    while (Date.now() < deadline) {
      text = tmux("capture-pane", "-p", "-t", target);
      if (needle.test(text)) return text;
      await sleep(250);
    }
    throw new Error(`pane ${target} never showed ${needle}:\n${text}`);
  }

  const shellIn = (name: string) => {
    const vars = Object.entries({
      OS2_URL: server.url,
      OS2_TOKEN: server.token,
      XDG_CONFIG_HOME: env.XDG_CONFIG_HOME ?? "",
    })
      .map(([k, v]) => `${k}='${v}'`)
      .join(" ");
    // After the CLI exits the pane stays (sleep), so its last words and exit code can be read.
    const command = `env ${vars} ${process.execPath} ${bin} shell ${machineName} --session cli-e2e; echo "cli-exit=$?"; sleep 600`;
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", command);
  };

  it("shell is an interactive terminal: typed commands run, Ctrl-\\ detaches, and re-attaching finds the same session", async () => {
    shellIn("first");
    await sleep(1_500);
    tmux("send-keys", "-t", "first", "echo hi-$((40+2))", "Enter");
    await paneShows("first", /^hi-42\s*$/m);
    tmux("send-keys", "-t", "first", "export CLI_MARK=kept-$((1+1))", "Enter");
    await sleep(500);
    tmux("send-keys", "-t", "first", "C-\\");
    const after = await paneShows("first", /cli-exit=\d+/);
    expect(after).toContain("detached from cli-e2e");
    expect(after).toMatch(/cli-exit=0/);

    shellIn("second");
    await sleep(1_500);
    tmux("send-keys", "-t", "second", "echo mark=$CLI_MARK", "Enter");
    await paneShows("second", /mark=kept-2/);
    tmux("send-keys", "-t", "second", "C-\\");
    await paneShows("second", /cli-exit=0/);
  });

  it("agents start, ls and logs show a shell agent's output", async () => {
    const start = run([
      "agents",
      "start",
      machineName,
      "--harness",
      "shell",
      "--prompt",
      "echo agent-''says-hi",
      "--name",
      "cli-agent",
    ]);
    expect(start.status, start.stderr.toString()).toBe(0);
    const id = start.stdout.toString().trim();
    expect(id).not.toBe("");
    const ls = run(["agents", "ls", machineName, "--json"]);
    expect((JSON.parse(ls.stdout.toString()) as { id: string }[]).map((a) => a.id)).toContain(id);
    let logs = "";
    for (let i = 0; i < 40 && !/^agent-says-hi$/m.test(logs); i++) {
      await sleep(250);
      logs = run(["agents", "logs", machineName, id]).stdout.toString();
    }
    expect(logs).toMatch(/^agent-says-hi$/m);
  });

  it("open prints the preview URL without failing where no browser is; without a port it takes the only one listening", async () => {
    const result = run(["open", machineName, "8080", "--no-browser"]);
    expect(result.status, result.stderr.toString()).toBe(0);
    expect(result.stdout.toString()).toMatch(/^https?:\/\/\S+\n$/);

    const none = run(["open", machineName, "--no-browser"]);
    expect(none.status).toBe(2);
    expect(none.stderr.toString()).toContain("nothing listens");

    const server = "require('http').createServer((q, r) => r.end('ok')).listen(8765)";
    expect(run(["agents", "start", machineName, "--harness", "shell", "--prompt", `node -e "${server}"`]).status).toBe(
      0,
    );
    let only = run(["open", machineName, "--no-browser"]);
    for (let i = 0; i < 40 && only.status !== 0; i++) {
      await sleep(250);
      only = run(["open", machineName, "--no-browser"]);
    }
    expect(only.status, only.stderr.toString()).toBe(0);
    expect(only.stdout.toString()).toContain("8765");
  });

  it("machines rm deletes it", () => {
    const rm = run(["machines", "rm", machineName]);
    expect(rm.status, rm.stderr.toString()).toBe(0);
  });
});
