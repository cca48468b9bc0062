/**
 * `machine.followLogs` end to end over HTTP (server-sent events, as the SPA's httpSubscriptionLink reads
 * them), with a provider whose log stream the test feeds line by line: the order of events, the provider's
 * stream closing when the client leaves, and a member removed from the organization no longer receiving.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createUnconfiguredDaytonaProvider } from "../providers/daytona/index.ts";
import { createTestOs2, type TestOs2 } from "../testing/harness.ts";
import { setUpProject, waitForObservedState } from "../testing/machine-fixtures.ts";
import { openSubscription } from "../testing/sse.ts";
import { createStreamProvider, type StreamProvider } from "../testing/stream-provider.ts";

/** Opens the subscription as the browser does (server-sent events, through the app's HTTP handler). */
function subscribe(t: TestOs2, cookie: string, input: unknown) {
  return openSubscription(t.fetch, "machine.followLogs", input, { cookie });
}

describe("machine.followLogs", () => {
  let feed: StreamProvider;
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;
  let machineId: string;

  beforeAll(async () => {
    feed = await createStreamProvider();
    t = await createTestOs2({
      providers: { "local-docker": feed.provider, daytona: createUnconfiguredDaytonaProvider() },
    });
    fx = await setUpProject(t);
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "feed", type: "local-docker" });
    machineId = created.id;
    await waitForObservedState(() => fx.api.machine.byId.query({ ...fx.scope, machineId }), "running", 10_000);
  });
  afterAll(async () => {
    await t?.close();
    await feed?.close();
  });

  it("sends the tail as reset, then each batch as append, then ended, and ends the stream, when the container's stream ends", async () => {
    const client = await subscribe(t, fx.cookie, { ...fx.scope, machineId, tail: 1000 });
    try {
      expect((await client.next())?.data).toEqual({ kind: "reset", lines: ["tail of 1000"] });
      const stream = feed.logStreams.at(-1)!;
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
    const stream = feed.logStreams.at(-1)!;
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
      const stream = feed.logStreams.at(-1)!;
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
