import { execFileSync } from "node:child_process";

import { tmuxListResponseSchema } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

import { createTestDaemon, TEST_TOKEN, type TestDaemon } from "../test-support";

/**
 * Collects everything a terminal socket prints, without tmux's escape sequences (cursor moves, erase to
 * end of line, mode switches), and resolves when `needle` shows up in the text.
 */
function readUntil(ws: WebSocket, needle: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${needle}; saw: ${JSON.stringify(seen.slice(-500))}`)),
      timeoutMs,
    );
    ws.on("message", (data: Buffer) => {
      // eslint-disable-next-line no-control-regex -- matching terminal escapes and control bytes is the point
      seen += data.toString("utf8").replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]/g, "");
      if (needle.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

describe("/api/pty/ws", () => {
  let daemon: TestDaemon;
  let base: string;
  beforeAll(async () => {
    daemon = await createTestDaemon();
    base = (await daemon.listen()).base.replace("http", "ws");
  });
  afterAll(() => daemon.cleanup());

  const open = (query: string, headers: Record<string, string> = { authorization: `Bearer ${TEST_TOKEN}` }) =>
    new WebSocket(`${base}/api/pty/ws?${query}`, { headers });

  it("runs `echo hi` in the attached tmux session and streams the output back", async () => {
    const ws = open("cols=100&rows=30&tmuxSession=term1");
    await new Promise((r) => ws.once("open", r));
    // The typed command echoes as h''i, so a bare "hi" line can only be the output.
    const output = readUntil(ws, /(^|[^a-z])hi\r\n/);
    ws.send(JSON.stringify({ type: "input", data: "echo h''i\r" })); // quoted so the echoed command line cannot match
    expect(await output).toMatch(/(^|[^a-z])hi\r\n/);
    ws.close();
  });

  it("accepts raw input as binary frames and resizes the tmux client", async () => {
    const ws = open("cols=80&rows=24&tmuxSession=term2");
    await new Promise((r) => ws.once("open", r));
    const output = readUntil(ws, /bin-42/);
    ws.send(Buffer.from("echo bin-$((40+2))\r"));
    await output;
    ws.send(JSON.stringify({ type: "resize", cols: 120, rows: 40 }));
    const socket = daemon.config.tmuxSocket ?? "";
    let size = "";
    for (let i = 0; i < 50 && size !== "120x40"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      size = execFileSync(
        "tmux",
        ["-S", socket, "list-clients", "-t", "=term2", "-F", "#{client_width}x#{client_height}"],
        { encoding: "utf8" },
      ).trim();
    }
    expect(size).toBe("120x40");
    ws.close();
  });

  it("keeps the tmux session after the socket closes", async () => {
    await new Promise((r) => setTimeout(r, 200));
    const sessions = tmuxListResponseSchema
      .parse(await (await daemon.call("/api/tmux/sessions")).json())
      .sessions.map((s) => s.name);
    expect(sessions).toEqual(expect.arrayContaining(["term1", "term2"]));
  });

  it("refuses the upgrade without a token, and with a bad tmuxSession", async () => {
    const statusOf = (ws: WebSocket) =>
      new Promise<number>((resolve) => ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
    expect(await statusOf(open("tmuxSession=x", {}))).toBe(401);
    expect(await statusOf(open("tmuxSession=bad.name"))).toBe(400);
  });
});
