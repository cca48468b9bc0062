/**
 * `machine.followLogs` end to end over HTTP (server-sent events, as the SPA's httpSubscriptionLink reads
 * them), with a provider whose log stream the test feeds line by line: the order of events, the provider's
 * stream closing when the client leaves, and a member removed from the organization no longer receiving.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { HealthResponse } from "@os2/protocol";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createUnconfiguredDaytonaProvider } from "../providers/daytona/index.ts";
import type { ListedMachine, MachineProvider } from "../providers/types.ts";
import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../testing/harness.ts";
import { setUpProject, waitForObservedState } from "../testing/machine-fixtures.ts";

/** One open `followLogs` stream of the fake provider: the test pushes batches, or ends it. */
type FeedStream = { push(lines: string[]): void; end(): void; aborted: Promise<void>; isAborted(): boolean };

type SseEvent = { event: string; data: unknown };

/** Opens the subscription as the browser does and yields its events (pings and `connected` left out). */
async function subscribe(t: TestOs2, cookie: string, input: unknown, abort: AbortController) {
  const query = encodeURIComponent(JSON.stringify(superjson.serialize(input)));
  const response = await t.fetch(`/api/trpc/machine.followLogs?input=${query}`, {
    headers: { cookie, origin: DASHBOARD_ORIGIN, accept: "text/event-stream" },
    signal: abort.signal,
  });
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const queue: SseEvent[] = [];
  return async function next(): Promise<SseEvent | null> {
    for (;;) {
      const ready = queue.shift();
      if (ready) return ready;
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return null;
      text += value;
      const blocks = text.split("\n\n");
      text = blocks.pop() ?? "";
      for (const block of blocks) {
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === "connected" || event === "ping" || data === undefined) continue;
        const parsed = JSON.parse(data) as Parameters<typeof superjson.deserialize>[0];
        queue.push({ event, data: event === "serialized-error" ? parsed.json : superjson.deserialize(parsed) });
      }
    }
  };
}

describe("machine.followLogs", () => {
  let daemon: Server;
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;
  let machineId: string;
  const streams: FeedStream[] = [];

  beforeAll(async () => {
    daemon = createServer((_request, response) => {
      const body: HealthResponse = {
        status: "ok",
        version: "test",
        startedAt: new Date().toISOString(),
        uptimeSeconds: 1,
        services: [],
      };
      response.writeHead(200).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => daemon.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(daemon.address() as AddressInfo).port}`;
    const held: ListedMachine[] = [];
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
        const pending: (string[] | null)[] = [];
        let wake = () => {};
        let aborted = false;
        const onAbort = new Promise<void>((resolve) =>
          signal.addEventListener(
            "abort",
            () => {
              aborted = true;
              wake();
              resolve();
            },
            { once: true },
          ),
        );
        streams.push({
          push: (lines) => (pending.push(lines), wake()),
          end: () => (pending.push(null), wake()),
          aborted: onAbort,
          isAborted: () => aborted,
        });
        yield [`tail of ${options.tail}`];
        while (!aborted) {
          const next = pending.shift();
          if (next === null) return;
          if (next) {
            yield next;
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    };
    t = await createTestOs2({ providers: { "local-docker": provider, daytona: createUnconfiguredDaytonaProvider() } });
    fx = await setUpProject(t);
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "feed", type: "local-docker" });
    machineId = created.id;
    await waitForObservedState(() => fx.api.machine.byId.query({ ...fx.scope, machineId }), "running", 10_000);
  });
  afterAll(async () => {
    await t?.close();
    daemon?.close();
  });

  it("sends the tail as reset, then each batch as append, then ended when the container's stream ends", async () => {
    const abort = new AbortController();
    const next = await subscribe(t, fx.cookie, { ...fx.scope, machineId, tail: 1000 }, abort);
    try {
      expect((await next())?.data).toEqual({ kind: "reset", lines: ["tail of 1000"] });
      const stream = streams.at(-1)!;
      stream.push(["one", "two"]);
      expect((await next())?.data).toEqual({ kind: "append", lines: ["one", "two"] });
      stream.end();
      expect((await next())?.data).toEqual({ kind: "ended", lines: [] });
    } finally {
      abort.abort();
    }
  });

  it("closes the provider's stream when the client goes away", async () => {
    const abort = new AbortController();
    const next = await subscribe(t, fx.cookie, { ...fx.scope, machineId, tail: 10 }, abort);
    expect((await next())?.data).toMatchObject({ kind: "reset" });
    const stream = streams.at(-1)!;
    abort.abort();
    await Promise.race([
      stream.aborted,
      new Promise((_, reject) => setTimeout(() => reject(new Error("the provider's stream stayed open")), 2_000)),
    ]);
    expect(stream.isAborted()).toBe(true);
  });

  it("stops sending to a member removed from the organization, within a few seconds, and closes the stream", async () => {
    const email = "removed-member+test@example.com";
    const memberCookie = await t.signIn(email);
    await fx.api.organization.addMember.mutate({ organizationSlug: fx.scope.organizationSlug, email });
    const abort = new AbortController();
    const next = await subscribe(t, memberCookie, { ...fx.scope, machineId, tail: 10 }, abort);
    try {
      expect((await next())?.data).toMatchObject({ kind: "reset" });
      const stream = streams.at(-1)!;
      stream.push(["while a member"]);
      expect((await next())?.data).toEqual({ kind: "append", lines: ["while a member"] });

      const members = await fx.api.organization.members.query({ organizationSlug: fx.scope.organizationSlug });
      const member = members.find((row) => row.email === email);
      if (!member) throw new Error("the member was not added");
      await fx.api.organization.removeMember.mutate({
        organizationSlug: fx.scope.organizationSlug,
        userId: member.userId,
      });
      const removedAt = Date.now();
      await stream.aborted;
      expect(Date.now() - removedAt).toBeLessThan(5_000);
      stream.push(["after removal"]);
      const last = await next();
      expect(last?.event).toBe("serialized-error");
      expect(last?.data).toMatchObject({ data: { code: "NOT_FOUND" } });
      expect(await next()).toBeNull();
    } finally {
      abort.abort();
    }
  });
});
