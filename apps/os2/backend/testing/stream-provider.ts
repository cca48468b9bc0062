/**
 * A local-docker stand-in for tests of the live streams over HTTP: its machines are "running" with a small
 * health server as their daemon (it answers /api/health with `health.status`, every other path with 404),
 * `followLogs` sends a tail and then whatever the test pushes (or an error), and `usage` a reading every
 * 100 ms. It counts the streams it has open, so a test sees whether the server-side stream of a subscription
 * is still there. A test that needs another provider call to behave otherwise spreads `provider` and
 * replaces that call.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { HealthResponse } from "@os2/protocol";

import type { ListedMachine, MachineProvider, UsageReading } from "../providers/types.ts";

/** One open `followLogs` stream: the test pushes batches, ends it, or makes it fail. */
export type FeedStream = {
  push(lines: string[]): void;
  end(): void;
  fail(message: string): void;
  /** Settles when the server aborts the stream's signal (the client left, or lost access). */
  aborted: Promise<void>;
  isAborted(): boolean;
};

export type StreamProvider = {
  provider: MachineProvider;
  /** Every `followLogs` stream opened, in order. */
  logStreams: FeedStream[];
  /** Streams open now (the provider's generator has not finished). */
  open: { logs: number; usage: number };
  /** What the daemon's /api/health reports, read on every request (`ok` unless the test sets it). */
  health: { status: HealthResponse["status"] };
  close(): Promise<void>;
};

export async function createStreamProvider(): Promise<StreamProvider> {
  const health: StreamProvider["health"] = { status: "ok" };
  const daemon: Server = createServer((request, response) => {
    const body: HealthResponse = {
      status: health.status,
      version: "test",
      startedAt: new Date().toISOString(),
      uptimeSeconds: 1,
      services: [],
    };
    response.writeHead(request.url === "/api/health" ? 200 : 404).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => daemon.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(daemon.address() as AddressInfo).port}`;
  const held: ListedMachine[] = [];
  const logStreams: FeedStream[] = [];
  const open = { logs: 0, usage: 0 };

  const provider: MachineProvider = {
    type: "local-docker",
    availability: async () => ({ available: true }),
    create: async (input) => {
      held.push({ externalId: `feed-${input.machineId}`, labels: input.labels, state: "running" });
      return { externalId: `feed-${input.machineId}`, metadata: {} };
    },
    start: async () => {},
    stop: async () => {},
    archive: async () => {},
    delete: async () => {},
    inspect: async () => ({ state: "running", metadata: {} }),
    list: async () => held,
    daemonEndpoint: async () => ({ url, headers: {} }),
    async *followLogs(_externalId, options, signal) {
      open.logs += 1;
      const pending: ({ lines: string[] } | { end: true } | { error: string })[] = [];
      let wake = () => {};
      const onAbort = () => wake();
      signal.addEventListener("abort", onAbort, { once: true });
      logStreams.push({
        push: (lines) => (pending.push({ lines }), wake()),
        end: () => (pending.push({ end: true }), wake()),
        fail: (error) => (pending.push({ error }), wake()),
        aborted: new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
        isAborted: () => signal.aborted,
      });
      try {
        yield [`tail of ${options.tail}`];
        while (!signal.aborted) {
          const next = pending.shift();
          if (!next) {
            await new Promise<void>((resolve) => (wake = resolve));
            continue;
          }
          if ("end" in next) return;
          if ("error" in next) throw new Error(next.error);
          yield next.lines;
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
        open.logs -= 1;
      }
    },
    async *usage(_externalId: string, signal: AbortSignal): AsyncIterable<UsageReading> {
      open.usage += 1;
      try {
        while (!signal.aborted) {
          yield {
            at: new Date(),
            cpuCores: 0.5,
            cpuLimitCores: null,
            memoryBytes: 64 * 1024 * 1024,
            memoryLimitBytes: null,
            pids: 3,
            pidsLimit: null,
            diskBytes: null,
            diskLimitBytes: null,
          };
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              signal.removeEventListener("abort", done);
              resolve();
            };
            const timer = setTimeout(done, 100);
            signal.addEventListener("abort", done, { once: true });
          });
        }
      } finally {
        open.usage -= 1;
      }
    },
  };

  return {
    provider,
    logStreams,
    open,
    health,
    close: () => new Promise<void>((resolve) => daemon.close(() => resolve())),
  };
}
