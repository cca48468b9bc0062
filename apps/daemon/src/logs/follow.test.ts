import { appendFile, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type LogsStreamEvent } from "@os2/protocol";
import { afterAll, beforeAll, expect, it } from "vitest";

import { followLog } from "./follow";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "os2-follow-test-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it("reads the file only as fast as the stream is read: a reader that stops holds the file reads back", async () => {
  const file = join(dir, "current");
  await writeFile(file, "first\n");
  const handle = await open(file, "r");
  // Counts what the follow reads from the file.
  let bytesRead = 0;
  const counting = new Proxy(handle, {
    get(target, property, receiver) {
      if (property === "read")
        return async (...args: Parameters<typeof handle.read>) => {
          const result = await target.read(...args);
          bytesRead += result.bytesRead;
          return result;
        };
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const abort = new AbortController();
  const stream = followLog({ service: "s", file, handle: counting, tailLines: 10, signal: abort.signal, pollMs: 20 });
  const reader = stream.getReader();
  try {
    const line = `${"x".repeat(99)}\n`;
    const count = 160_000; // 16 MB
    await appendFile(file, line.repeat(count));
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Bounded by the stream's queue (256 KiB) plus one read (64 KiB), far below what was written.
    expect(bytesRead).toBeLessThan(1024 * 1024);

    let lines = 0;
    const decoder = new TextDecoder();
    let buffered = "";
    while (lines < 1 + count) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended");
      buffered += decoder.decode(value, { stream: true });
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const part of parts) {
        if (!part) continue;
        const event = JSON.parse(part) as LogsStreamEvent;
        if (event.type !== "rotated") lines += event.lines.length;
      }
    }
    expect(lines).toBe(1 + count);
    expect(bytesRead).toBe(6 + count * line.length);
  } finally {
    abort.abort();
    await reader.cancel();
  }
});
