/**
 * `machine.followLogs` end to end over HTTP (server-sent events, as the SPA's httpSubscriptionLink reads
 * them), with a provider whose log stream the test feeds line by line: the order of events, the provider's
 * stream closing when the client leaves, and a member removed from the organization no longer receiving.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { HealthResponse } from "@os2/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createUnconfiguredDaytonaProvider } from "../providers/daytona/index.ts";
import type { ListedMachine, MachineProvider } from "../providers/types.ts";
import { createTestOs2, type TestOs2 } from "../testing/harness.ts";
import { setUpProject, waitForObservedState } from "../testing/machine-fixtures.ts";
import { openSubscription } from "../testing/sse.ts";

/** One open `followLogs` stream of the fake provider: the test pushes batches, or ends it. */
type FeedStream = { push(lines: string[]): void; end(): void; aborted: Promise<void>; isAborted(): boolean };

/** Opens the subscription as the browser does (server-sent events, through the app's HTTP handler). */
function subscribe(t: TestOs2, cookie: string, input: unknown) {
  return openSubscription(t.fetch, "machine.followLogs", input, { cookie });
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

  it("sends the tail as reset, then each batch as append, then ended, and ends the stream, when the container's stream ends", async () => {
    const client = await subscribe(t, fx.cookie, { ...fx.scope, machineId, tail: 1000 });
    try {
      expect((await client.next())?.data).toEqual({ kind: "reset", lines: ["tail of 1000"] });
      const stream = streams.at(-1)!;
      stream.push(["one", "two"]);
      expect((await client.next())?.data).toEqual({ kind: "append", lines: ["one", "two"] });
      stream.end();
      expect((await client.next())?.data).toEqual({ kind: "ended", lines: [] });
      expect((await client.next())?.event).toBe("return");
      expect(await client.next()).toBeNull();
    } finally {
      client.close();
    }
  });

  it("closes the provider's stream when the client goes away", async () => {
    const client = await subscribe(t, fx.cookie, { ...fx.scope, machineId, tail: 10 });
    expect((await client.next())?.data).toMatchObject({ kind: "reset" });
    const stream = streams.at(-1)!;
    client.close();
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
    const client = await subscribe(t, memberCookie, { ...fx.scope, machineId, tail: 10 });
    try {
      expect((await client.next())?.data).toMatchObject({ kind: "reset" });
      const stream = streams.at(-1)!;
      stream.push(["while a member"]);
      expect((await client.next())?.data).toEqual({ kind: "append", lines: ["while a member"] });

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
      const last = await client.next();
      expect(last?.event).toBe("serialized-error");
      expect(last?.data).toMatchObject({ data: { code: "NOT_FOUND" } });
      expect(await client.next()).toBeNull();
    } finally {
      client.close();
    }
  });
});
