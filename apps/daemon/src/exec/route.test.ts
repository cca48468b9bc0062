import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { type IncomingMessage, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { execResultSchema, execStreamEventSchema } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDaemon, TEST_TOKEN, type TestDaemon } from "../test-support";

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

  it("writes base64 stdin to the command as the bytes it encodes", async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x80, 0xc3, 0x28]);
    const res = await daemon.call("/api/exec", {
      method: "POST",
      json: { command: "od", args: ["-An", "-tx1"], stdin: bytes.toString("base64"), stdinEncoding: "base64" },
    });
    const result = execResultSchema.parse(await res.json());
    expect(result.stdout.trim().split(/\s+/)).toEqual(["00", "ff", "80", "c3", "28"]);
  });

  it("sends a streamed exec's response head before the command prints anything", async () => {
    const marker = join(mkdtempSync(join(tmpdir(), "exec-head-")), "go");
    const { base } = await daemon.listen();
    // Over a real socket: Node sends a response head with the first body bytes, so without the keepalive
    // line this fetch would wait for the command, and the command waits for the marker written after it.
    const res = await fetch(`${base}/api/exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        command: "sh",
        args: ["-c", `while [ ! -f ${marker} ]; do sleep 0.05; done; echo done`],
        stream: true,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(200);
    writeFileSync(marker, "");
    const lines = (await res.text()).split("\n");
    expect(lines[0]).toBe("");
    const events = lines.filter((line) => line !== "").map((line) => execStreamEventSchema.parse(JSON.parse(line)));
    expect(events).toEqual([
      { type: "stdout", data: "done\n" },
      expect.objectContaining({ type: "exit", exitCode: 0 }),
    ]);
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

  it("pauses a fast command while the streaming client does not read, and delivers all of its output afterwards", async () => {
    const { port } = await daemon.listen();
    const bytes = 100_000_000;
    const marker = join(daemon.config.workspaceDir, `wrote-everything-${Date.now()}`);
    // Unthrottled, this writes its 100 MB (and the daemon would hold them) in well under a second.
    const script = `head -c ${bytes} /dev/zero | tr '\\0' a; touch ${marker}`;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/api/exec",
        headers: { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "application/json" },
      });
      req.on("response", resolve);
      req.on("error", reject);
      req.end(JSON.stringify({ command: "sh", args: ["-c", script], stream: true }));
    });
    expect(res.statusCode).toBe(200);
    // Nobody reads the response for 3 s: the command must be blocked on its full pipe, not finished.
    await new Promise((r) => setTimeout(r, 3000));
    expect(existsSync(marker)).toBe(false);

    let stdoutChars = 0;
    let last: unknown;
    let pending = "";
    res.setEncoding("utf8");
    for await (const chunk of res as AsyncIterable<string>) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") continue; // keepalive
        const event = execStreamEventSchema.parse(JSON.parse(line));
        if (event.type === "stdout") stdoutChars += event.data.length;
        last = event;
      }
    }
    expect(stdoutChars).toBe(bytes);
    expect(last).toMatchObject({ type: "exit", exitCode: 0 });
    expect(existsSync(marker)).toBe(true);
  });

  it("starts commands, and what they start, with oom_score_adj raised to 500, leaving the daemon's own alone", async () => {
    const own = readFileSync(`/proc/${process.pid}/oom_score_adj`, "utf8").trim();
    expect(await exec({ command: "cat", args: ["/proc/self/oom_score_adj"] })).toMatchObject({
      exitCode: 0,
      stdout: "500\n",
    });
    const nested = await exec({ command: "bash", args: ["-c", "cat /proc/self/oom_score_adj; echo $$ $PPID"] });
    expect(nested.stdout.split("\n")[0]).toBe("500");
    expect(readFileSync(`/proc/${process.pid}/oom_score_adj`, "utf8").trim()).toBe(own);
  });

  it("runs the command itself under the oom_score_adj wrapper: its argv as given, the daemon as its parent, its exit status", async () => {
    const argv = await exec({ command: "cat", args: ["/proc/self/cmdline"] });
    expect(argv.stdout).toBe("cat\0/proc/self/cmdline\0");
    const parent = await exec({ command: "sh", args: ["-c", "echo $PPID; exit 9"] });
    expect(parent).toMatchObject({ exitCode: 9, stdout: `${process.pid}\n` });
  });

  it("answers 126 and a stderr line for a file that is not executable", async () => {
    const file = join(daemon.config.workspaceDir, "not-executable.sh");
    writeFileSync(file, "#!/bin/sh\necho ran\n", { mode: 0o644 });
    const result = await exec({ command: file });
    expect(result).toMatchObject({ exitCode: 126, stdout: "" });
    expect(result.stderr).toBe(`${file}: permission denied\n`);
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
