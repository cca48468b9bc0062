import { execFileSync } from "node:child_process";

import { execResultSchema, execStreamEventSchema } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDaemon, type TestDaemon } from "../test-support";

describe("POST /api/exec", () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await createTestDaemon();
  });
  afterAll(() => daemon.cleanup());

  const exec = async (json: unknown) => {
    const res = await daemon.call("/api/exec", { method: "POST", json });
    expect(res.status).toBe(200);
    return execResultSchema.parse(await res.json());
  };

  it("returns stdout and exit code 0 for echo", async () => {
    const result = await exec({ command: "echo", args: ["hello", "world"] });
    expect(result).toMatchObject({ exitCode: 0, stdout: "hello world\n", stderr: "", timedOut: false });
  });

  it("returns a failing command's exit code and stderr", async () => {
    const result = await exec({ command: "sh", args: ["-c", "echo oops >&2; exit 3"] });
    expect(result).toMatchObject({ exitCode: 3, stderr: "oops\n" });
  });

  it("answers exit code 127 and a stderr line for a missing binary", async () => {
    const result = await exec({ command: "definitely-not-a-binary-os2" });
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toMatch(/definitely-not-a-binary-os2: command not found/);
  });

  it("runs in cwd with the given env and stdin", async () => {
    const result = await exec({
      command: "sh",
      args: ["-c", 'pwd; echo "$GREETING"; cat'],
      cwd: "/tmp",
      env: { GREETING: "hi" },
      stdin: "from-stdin",
    });
    expect(result.stdout).toBe("/tmp\nhi\nfrom-stdin");
  });

  it("kills a command at its timeout and reports 124", async () => {
    const result = await exec({ command: "sleep", args: ["10"], timeoutMs: 200 });
    expect(result).toMatchObject({ exitCode: 124, timedOut: true });
    expect(result.durationMs).toBeLessThan(5000);
  });

  it("streams NDJSON events ending with the exit event", async () => {
    const res = await daemon.call("/api/exec", {
      method: "POST",
      json: { command: "sh", args: ["-c", "echo a; echo b >&2; exit 2"], stream: true },
    });
    expect(res.headers.get("content-type")).toMatch(/application\/x-ndjson/);
    const events = (await res.text())
      .trim()
      .split("\n")
      .map((line) => execStreamEventSchema.parse(JSON.parse(line)));
    expect(
      events
        .filter((e) => e.type === "stdout")
        .map((e) => ("data" in e ? e.data : ""))
        .join(""),
    ).toBe("a\n");
    expect(
      events
        .filter((e) => e.type === "stderr")
        .map((e) => ("data" in e ? e.data : ""))
        .join(""),
    ).toBe("b\n");
    expect(events.at(-1)).toMatchObject({ type: "exit", exitCode: 2 });
  });

  it("kills a streamed command when the client goes away", async () => {
    const marker = `31.${Date.now() % 100000}`; // a unique sleep argument to find the process by
    const res = await daemon.call("/api/exec", {
      method: "POST",
      json: { command: "sh", args: ["-c", `echo started; exec sleep ${marker}`], stream: true },
    });
    const reader = res.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    const running = () => execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes(`sleep ${marker}`);
    for (let i = 0; i < 50 && running(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(running()).toBe(false);
  });

  it("answers 400 naming the field for a missing command", async () => {
    const res = await daemon.call("/api/exec", { method: "POST", json: { args: [] } });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.field).toBe("command");
    expect(body.message).toMatch(/^command: /);
  });

  it("answers 400 for malformed JSON", async () => {
    const res = await daemon.call("/api/exec", {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(/valid JSON/);
  });

  it("answers 400 for a cwd that does not exist rather than a misleading 127", async () => {
    const res = await daemon.call("/api/exec", { method: "POST", json: { command: "echo", cwd: "/no/such/dir" } });
    expect(res.status).toBe(400);
    expect((await res.json()).field).toBe("cwd");
  });
});
