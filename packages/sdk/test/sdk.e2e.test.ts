/**
 * The SDK against a real os2 and a real Docker machine: every call goes through /api/v1 with a project
 * access token, as a user's program would.
 */
import { randomBytes } from "node:crypto";

import { DAEMON_PORT } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { isOs2Error, type Machine, Os2, type Terminal } from "../src/index";
import { type RunningOs2, startOs2 } from "./os2-server";

// eslint-disable-next-line no-control-regex -- stripping terminal escape sequences is the point
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]/g;

/** Terminal output without escape sequences, until `needle` shows. */
function readUntil(terminal: Terminal, needle: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => {
      terminal.off("data", onData);
      reject(new Error(`timed out waiting for ${needle}; saw ${JSON.stringify(seen.slice(-400))}`));
    }, timeoutMs);
    const onData = (chunk: Uint8Array) => {
      seen += Buffer.from(chunk).toString("utf8").replace(ESCAPES, "");
      if (needle.test(seen)) {
        clearTimeout(timer);
        terminal.off("data", onData);
        resolve(seen);
      }
    };
    terminal.on("data", onData);
  });
}

describe("@os2/sdk end to end", () => {
  let os2Server: RunningOs2;
  let os2: Os2;
  let machine: Machine;

  beforeAll(async () => {
    os2Server = await startOs2("sdk-e2e");
    os2 = new Os2({ baseUrl: os2Server.url, token: os2Server.token });
  });
  afterAll(async () => {
    await os2Server?.stop();
  });

  it("names the token's project, and refuses a wrong token with unauthorized", async () => {
    const project = await os2.project();
    expect(project.name).toBe("sdk-e2e project");
    const error = await new Os2({ baseUrl: os2Server.url, token: "pat_wrong" }).project().catch((e: unknown) => e);
    expect(isOs2Error(error, "unauthorized")).toBe(true);
  });

  it("creates a machine and waits until it runs with one held request (a long poll, not polling); get by name and list find it", async () => {
    const gets: string[] = [];
    const counted = new Os2({
      baseUrl: os2Server.url,
      token: os2Server.token,
      fetch: (input, init) => {
        if ((init.method ?? "GET") === "GET") gets.push(new URL(input).search);
        return fetch(input, init);
      },
    });
    machine = await counted.machines.create({ name: "sdk-e2e", wait: true });
    expect(machine.state).toBe("running");
    // The boot takes well under the 20 s one request is held for: the server answered it at `running`.
    expect(gets).toEqual([expect.stringMatching(/^\?waitFor=running&waitMs=\d+$/)]);
    expect(machine.id).toMatch(/^mach_/);
    expect((await os2.machines.get("sdk-e2e")).id).toBe(machine.id);
    expect((await os2.machines.listAll()).map((m) => m.id)).toContain(machine.id);
    const missing = await os2.machines.get("no-such-machine").catch((e: unknown) => e);
    expect(isOs2Error(missing, "not_found")).toBe(true);
  });

  it("streams exec output as it is printed and returns a non-zero exit code faithfully", async () => {
    const chunks: { stream: string; data: string; at: number }[] = [];
    const started = Date.now();
    const result = await machine.sh("echo one; sleep 1; echo two >&2; sleep 1; echo three; exit 3", {
      onStdout: (data) => chunks.push({ stream: "stdout", data, at: Date.now() - started }),
      onStderr: (data) => chunks.push({ stream: "stderr", data, at: Date.now() - started }),
    });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe("one\nthree\n");
    expect(result.stderr).toBe("two\n");
    const first = chunks.find((c) => c.data.includes("one"));
    const last = chunks.find((c) => c.data.includes("three"));
    // "one" arrived a second or more before "three": streamed, not buffered until exit.
    expect((last?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThan(1_000);

    const buffered = await machine.exec("sh", { args: ["-c", 'printf %s "$X"; kill -TERM $$'], env: { X: "y" } });
    expect(buffered).toMatchObject({ stdout: "y", exitCode: 143, signal: "SIGTERM" });
  });

  it("cancels a running exec when its signal aborts", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("enough")), 1_000);
    const started = Date.now();
    const outcome = await machine
      .exec("sleep", { args: ["30"], onStdout: () => undefined, signal: controller.signal })
      .catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("round-trips 5 MiB of random bytes through files write and read", async () => {
    const bytes = new Uint8Array(randomBytes(5 * 1024 * 1024));
    const written = await machine.files.write("sdk-e2e/random.bin", bytes);
    expect(written.size).toBe(bytes.length);
    const back = await machine.files.readBytes("sdk-e2e/random.bin");
    expect(back.length).toBe(bytes.length);
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
    await machine.files.write("sdk-e2e/hello.txt", "héllo\n", { mode: 0o755 });
    expect(await machine.files.read("sdk-e2e/hello.txt")).toBe("héllo\n");
    const names = (await machine.files.list("sdk-e2e")).map((e) => e.name);
    expect(names).toEqual(["hello.txt", "random.bin"]);
    expect((await machine.sh("stat -c %a sdk-e2e/hello.txt")).stdout.trim()).toBe("755");
  });

  it("echoes through the terminal and keeps the tmux session for a second attach", async () => {
    const terminal = await machine.terminal({ cols: 100, rows: 30, session: "sdk-e2e" });
    const first = readUntil(terminal, /(^|[^a-z])hi-42\r?\n/);
    terminal.write("echo hi-$((40+2))\r"); // the typed line shows `$((40+2))`, so only the output matches
    await first;
    terminal.write("export SDK_MARK=kept\r");
    terminal.resize(120, 40);
    terminal.close();
    await terminal.closed;

    const again = await machine.terminal({ session: "sdk-e2e" });
    const marked = readUntil(again, /mark=kept/);
    again.write(new TextEncoder().encode("echo mark=$SDK_MARK\r"));
    await marked;
    again.close();
  });

  it("starts a shell agent whose output shows its prompt's result, then deletes it", async () => {
    const agent = await machine.agents.start({ harness: "shell", prompt: "echo h''i-agent", name: "sdk-agent" });
    // Alive: running the typed prompt, or already back at the shell's prompt, waiting for input.
    expect(["running", "waiting"]).toContain(agent.status);
    let text = "";
    for (let i = 0; i < 40 && !/^hi-agent$/m.test(text); i++) {
      await new Promise((r) => setTimeout(r, 250));
      text = await agent.output({ lines: 50 });
    }
    expect(text).toMatch(/^hi-agent$/m);
    expect((await machine.agents.list()).map((a) => a.id)).toContain(agent.id);

    const controller = new AbortController();
    const followed: string[] = [];
    const follow = (async () => {
      for await (const chunk of agent.follow({ intervalMs: 200, signal: controller.signal })) followed.push(chunk);
    })().catch(() => undefined);
    // Type into the agent's own tmux session, as a person watching it would.
    const terminal = await machine.terminal({ session: agent.data.tmuxSession });
    terminal.write("echo fol''lowed\r");
    for (let i = 0; i < 40 && !followed.join("").includes("followed\n"); i++)
      await new Promise((r) => setTimeout(r, 250));
    controller.abort();
    await follow;
    terminal.close();
    expect(followed.join("")).toMatch(/^followed$/m);

    expect(await agent.delete()).toEqual({ id: agent.id, deleted: true });
  });

  it("lists the machine's listening ports and tmux sessions", async () => {
    expect((await machine.ports()).map((p) => p.port)).toContain(DAEMON_PORT);
    expect((await machine.sessions()).map((s) => s.name)).toContain("sdk-e2e");
  });

  it("lists events and answers a preview URL for a port", async () => {
    const events = await machine.events();
    expect(events.map((e) => e.toState)).toContain("running");
    const url = await machine.previewUrl(8080);
    expect(url).toMatch(/^https?:\/\//);
  });

  it("deletes the machine; it is gone from the list once deleted", async () => {
    expect(await machine.delete()).toEqual({ id: machine.id });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await os2.machines.listAll()).some((m) => m.id === machine.id)) {
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await os2.machines.listAll()).map((m) => m.id)).not.toContain(machine.id);
  });
});
