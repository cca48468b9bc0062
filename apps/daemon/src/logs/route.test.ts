import { appendFile, mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { LOG_LINE_CUT_MARK, LOG_LINE_MAX_CHARS, type LogsStreamEvent, logsStreamEventSchema } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDaemon, type TestDaemon } from "../test-support";

/** Reads NDJSON events off a followed log, skipping keepalive blank lines. */
function eventReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const queue: LogsStreamEvent[] = [];
  const next = async (): Promise<LogsStreamEvent> => {
    for (;;) {
      const event = queue.shift();
      if (event) return event;
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended");
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) queue.push(logsStreamEventSchema.parse(JSON.parse(line)));
    }
  };
  /** Collects `lines` events until `count` lines arrived (or `rotated` events, which are kept as "<rotated>"). */
  const lines = async (count: number): Promise<string[]> => {
    const seen: string[] = [];
    while (seen.length < count) {
      const event = await next();
      if (event.type === "lines") seen.push(...event.lines);
      else if (event.type === "rotated") seen.push("<rotated>");
      else seen.push(...event.lines);
    }
    return seen;
  };
  return { next, lines, cancel: () => reader.cancel() };
}

describe("/api/logs", () => {
  let daemon: TestDaemon;
  let dir: string;
  beforeAll(async () => {
    daemon = await createTestDaemon();
    dir = join(daemon.config.logDir, "iterate-server");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "current"), ["line 1", "line 2", "line 3"].join("\n") + "\n");
  });
  afterAll(() => daemon.cleanup());

  it("lists services that have logs", async () => {
    const body = await (await daemon.call("/api/logs")).json();
    expect(body.services).toEqual([{ name: "iterate-server", logDir: join(daemon.config.logDir, "iterate-server") }]);
  });

  it("returns the last lines of a service's current log", async () => {
    const body = await (await daemon.call("/api/logs/iterate-server?lines=2")).json();
    expect(body).toEqual({ service: "iterate-server", lines: ["line 2", "line 3"] });
  });

  it("answers 404 for an unknown service and 400 for a path-like name or bad query", async () => {
    expect((await daemon.call("/api/logs/nope")).status).toBe(404);
    expect((await daemon.call("/api/logs/nope?follow=1")).status).toBe(404);
    expect((await daemon.call("/api/logs/..%2Fetc")).status).toBe(400);
    expect((await daemon.call("/api/logs/..%2Fetc?follow=1")).status).toBe(400);
    expect((await daemon.call("/api/logs/iterate-server?lines=0")).status).toBe(400);
    const badFollow = await daemon.call("/api/logs/iterate-server?follow=maybe");
    expect(badFollow.status).toBe(400);
    expect((await badFollow.json()).message).toMatch(/follow/);
  });

  it("follow sends the tail, then lines as they are appended", async () => {
    const service = "follow-append";
    await mkdir(join(daemon.config.logDir, service), { recursive: true });
    const file = join(daemon.config.logDir, service, "current");
    await writeFile(file, "old 1\nold 2\nold 3\n");
    const response = await daemon.call(`/api/logs/${service}?follow=1&lines=2`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/application\/x-ndjson/);
    const events = eventReader(response.body!);
    try {
      expect(await events.next()).toEqual({ type: "tail", service, lines: ["old 2", "old 3"] });
      const started = Date.now();
      await appendFile(file, "new 1\n");
      expect(await events.lines(1)).toEqual(["new 1"]);
      expect(Date.now() - started).toBeLessThan(2_000);
      // A line written in two pieces arrives once, whole.
      await appendFile(file, "half");
      await new Promise((resolve) => setTimeout(resolve, 400));
      await appendFile(file, " and half\nnew 3\n");
      expect(await events.lines(2)).toEqual(["half and half", "new 3"]);
    } finally {
      await events.cancel();
    }
  });

  it("follow survives s6-log's rotation: the old file's last lines, then the new current's", async () => {
    const service = "follow-rotate";
    const serviceDir = join(daemon.config.logDir, service);
    await mkdir(serviceDir, { recursive: true });
    const file = join(serviceDir, "current");
    await writeFile(file, "before\n");
    const events = eventReader((await daemon.call(`/api/logs/${service}?follow=1`)).body!);
    try {
      expect(await events.next()).toMatchObject({ type: "tail", lines: ["before"] });
      // What s6-log does: the last lines land in current, current is renamed to an archive, a new one starts.
      await appendFile(file, "last of old\n");
      await rename(file, join(serviceDir, "@400000006500000000000000.s"));
      await writeFile(file, "first of new\n");
      expect(await events.lines(3)).toEqual(["last of old", "<rotated>", "first of new"]);
      await appendFile(file, "second of new\n");
      expect(await events.lines(1)).toEqual(["second of new"]);
    } finally {
      await events.cancel();
    }
  });

  it("cuts lines longer than the cap, in the tail and while following", async () => {
    const service = "follow-long";
    await mkdir(join(daemon.config.logDir, service), { recursive: true });
    const file = join(daemon.config.logDir, service, "current");
    const long = "x".repeat(LOG_LINE_MAX_CHARS * 3);
    await writeFile(file, `${long}\n`);
    const events = eventReader((await daemon.call(`/api/logs/${service}?follow=1`)).body!);
    try {
      const cut = "x".repeat(LOG_LINE_MAX_CHARS) + LOG_LINE_CUT_MARK;
      expect(await events.next()).toMatchObject({ type: "tail", lines: [cut] });
      // An endless line (no newline yet) is cut once it passes the cap; the line after it arrives whole.
      await appendFile(file, long);
      expect(await events.lines(1)).toEqual([cut]);
      await appendFile(file, `${long}\nshort\n`);
      expect(await events.lines(1)).toEqual(["short"]);
    } finally {
      await events.cancel();
    }
  });
});
