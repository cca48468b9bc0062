/**
 * The cap on open live streams per caller (services/stream-slots.ts), over a real socket as the SPA opens
 * them (server-sent events): the stream beyond the cap is refused with TOO_MANY_REQUESTS, and every way a
 * stream ends gives its slot back (the client leaves, the stream fails or ends, the caller loses access),
 * along with its server-side stream. The machine's provider is a stand-in that counts its open streams.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { createUnconfiguredDaytonaProvider } from "../providers/daytona/index.ts";
import type { Caller } from "../services/access.ts";
import { MAX_OPEN_STREAMS_PER_CALLER } from "../services/stream-slots.ts";
import { createTestOs2, type TestOs2 } from "../testing/harness.ts";
import { setUpProject, waitForObservedState } from "../testing/machine-fixtures.ts";
import { errorCode, type Fetcher, openSubscription, overSocket, type Subscription } from "../testing/sse.ts";
import { createStreamProvider, type StreamProvider } from "../testing/stream-provider.ts";

type Auth = { cookie?: string; bearer?: string };
const LIMIT = MAX_OPEN_STREAMS_PER_CALLER;

describe("open live streams per caller", () => {
  let t: TestOs2;
  let feed: StreamProvider;
  let fetcher: Fetcher;
  let fx: Awaited<ReturnType<typeof setUpProject>>;
  let machineId: string;
  let owner: { auth: Auth; caller: Caller };
  let member: { auth: Auth; caller: Caller };
  const opened: Subscription[] = [];

  const slots = () => t.os2.deps.services.streamSlots;
  const kinds = ["machine.followLogs", "machine.usage", "machine.usageMany"] as const;
  const inputOf = (path: (typeof kinds)[number]) =>
    path === "machine.followLogs"
      ? { ...fx.scope, machineId, tail: 5 }
      : path === "machine.usage"
        ? { ...fx.scope, machineId }
        : { ...fx.scope, machineIds: [machineId] };

  /** Opens a stream and waits for its first event; remembered, so each test's streams are closed after it. */
  async function open(auth: Auth, path: (typeof kinds)[number] = "machine.usage") {
    const subscription = await openSubscription(fetcher, path, inputOf(path), auth);
    opened.push(subscription);
    return { subscription, first: await subscription.next() };
  }

  /** Fills the caller's slots with a mix of all three streams, each of them receiving. */
  async function fill(auth: Auth) {
    const streams: Subscription[] = [];
    for (let i = 0; i < LIMIT; i += 1) {
      const { subscription, first } = await open(auth, kinds[i % kinds.length]);
      expect(first?.event).toBe("message");
      streams.push(subscription);
    }
    return streams;
  }

  async function userCaller(auth: Auth): Promise<Caller> {
    const me = await t.client(auth).user.me.query();
    if (!me) throw new Error("not signed in");
    return { kind: "user", user: me, impersonatedBy: null };
  }

  beforeAll(async () => {
    feed = await createStreamProvider();
    t = await createTestOs2({
      providers: { "local-docker": feed.provider, daytona: createUnconfiguredDaytonaProvider() },
    });
    fetcher = overSocket(await t.listen());
    fx = await setUpProject(t);
    owner = { auth: { cookie: fx.cookie }, caller: await userCaller({ cookie: fx.cookie }) };
    const email = "member+test@example.com";
    await fx.api.organization.addMember.mutate({ organizationSlug: fx.scope.organizationSlug, email });
    const memberCookie = await t.signIn(email);
    member = { auth: { cookie: memberCookie }, caller: await userCaller({ cookie: memberCookie }) };
    const created = await fx.api.machine.create.mutate({ ...fx.scope, name: "watched", type: "local-docker" });
    machineId = created.id;
    await waitForObservedState(() => fx.api.machine.byId.query({ ...fx.scope, machineId }), "running", 10_000);
  });
  afterEach(async () => {
    for (const subscription of opened.splice(0)) subscription.close();
    // Nothing a test opened outlives it: no slot, no provider log stream.
    await expect.poll(() => slots().open, { timeout: 5_000 }).toBe(0);
    await expect.poll(() => feed.open.logs, { timeout: 5_000 }).toBe(0);
  });
  afterAll(async () => {
    await t?.close();
    await feed?.close();
  });

  it(`allows ${LIMIT} open streams per user, refuses the next with TOO_MANY_REQUESTS naming the limit, and leaves other users their own`, async () => {
    await fill(owner.auth);
    expect(slots().openFor(owner.caller)).toBe(LIMIT);
    expect(feed.open.logs).toBe(Math.ceil(LIMIT / kinds.length));

    for (const path of kinds) {
      const { subscription, first } = await open(owner.auth, path);
      expect(errorCode(first)).toBe("TOO_MANY_REQUESTS");
      expect((first?.data as { message: string }).message).toContain(`You have ${LIMIT} log or usage streams open`);
      expect((first?.data as { message: string }).message).toContain("Close machine pages or tabs");
      expect(await subscription.next()).toBeNull();
    }
    // The refusals took no slot and opened no provider stream.
    expect(slots().openFor(owner.caller)).toBe(LIMIT);
    expect(feed.open.logs).toBe(Math.ceil(LIMIT / kinds.length));

    // The same user signed in again (another session, another browser) shares the same slots…
    const secondSession = { cookie: await t.signIn("owner+test@example.com") };
    expect(errorCode((await open(secondSession)).first)).toBe("TOO_MANY_REQUESTS");
    // …while another member has their own.
    expect((await open(member.auth, "machine.followLogs")).first?.event).toBe("message");
    expect(slots().openFor(member.caller)).toBe(1);
  });

  it("a stream the client closes gives its slot and its provider stream back", async () => {
    const streams = await fill(owner.auth);
    const logsBefore = feed.open.logs;
    // streams[0] is a followed log (the fill starts with one).
    streams[0]!.close();
    await expect.poll(() => slots().openFor(owner.caller)).toBe(LIMIT - 1);
    await expect.poll(() => feed.open.logs).toBe(logsBefore - 1);
    expect((await open(owner.auth)).first?.event).toBe("message");
    expect(errorCode((await open(owner.auth)).first)).toBe("TOO_MANY_REQUESTS");
  });

  it("a stream that fails, or ends because the container stopped, gives its slot back", async () => {
    const before = feed.logStreams.length;
    const streams = await fill(owner.auth);
    // The fill opens a followed log first and then every third stream: streams[0] and streams[3].
    const [failing, ending] = [streams[0]!, streams[kinds.length]!];
    feed.logStreams[before]!.fail("docker went away");
    expect((await failing.next())?.event).toBe("serialized-error");
    expect(await failing.next()).toBeNull();
    await expect.poll(() => slots().openFor(owner.caller)).toBe(LIMIT - 1);

    feed.logStreams[before + 1]!.end();
    expect((await ending.next())?.data).toEqual({ kind: "ended", lines: [] });
    expect((await ending.next())?.event).toBe("return");
    await expect.poll(() => slots().openFor(owner.caller)).toBe(LIMIT - 2);

    expect((await open(owner.auth)).first?.event).toBe("message");
    expect((await open(owner.auth)).first?.event).toBe("message");
    expect(errorCode((await open(owner.auth)).first)).toBe("TOO_MANY_REQUESTS");
  });

  it("every usage stream of a machine shares one provider stream, closed once the last viewer left", async () => {
    const viewers: Subscription[] = [];
    for (const [auth, path] of [
      [owner.auth, "machine.usage"],
      [owner.auth, "machine.usageMany"],
      [member.auth, "machine.usage"],
      [member.auth, "machine.usageMany"],
    ] as const) {
      const { subscription, first } = await open(auth, path);
      expect(first?.event).toBe("message");
      viewers.push(subscription);
    }
    expect(feed.open.usage).toBe(1);
    for (const viewer of viewers.slice(1)) viewer.close();
    // One viewer left keeps it open, and receiving.
    await expect.poll(() => slots().open).toBe(1);
    expect((await viewers[0]!.next())?.event).toBe("message");
    expect(feed.open.usage).toBe(1);
    viewers[0]!.close();
    // The hub keeps a channel a few seconds after its last viewer (a page that re-subscribes reuses it).
    await expect.poll(() => feed.open.usage, { timeout: 15_000, interval: 200 }).toBe(0);
    expect(t.os2.machines.usageHub.openChannels).toBe(0);
  });

  it("an access token has a cap of its own, and revoking it ends its streams and frees every slot", async () => {
    const token = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "script" });
    const tokenAuth = { bearer: token.token };
    const tokenCaller: Caller = { kind: "token", tokenId: token.id, projectId: fx.project.id };
    const streams = await fill(tokenAuth);
    const refused = (await open(tokenAuth)).first;
    expect(errorCode(refused)).toBe("TOO_MANY_REQUESTS");
    expect((refused?.data as { message: string }).message).toContain(`This access token has ${LIMIT}`);
    // Its owner, signed in, is not held back by the token's streams.
    expect((await open(owner.auth)).first?.event).toBe("message");

    await fx.api.accessToken.revoke.mutate({ ...fx.scope, id: token.id });
    // Logs re-check every 3 s, usage every 5 s: each stream ends with the refusal a new request would get.
    const endings = await Promise.all(
      streams.map(async (stream) => {
        for (;;) {
          const event = await stream.next(15_000);
          if (event?.event !== "message") return errorCode(event);
        }
      }),
    );
    expect(new Set(endings)).toEqual(new Set(["UNAUTHORIZED"]));
    await expect.poll(() => slots().openFor(tokenCaller), { timeout: 5_000 }).toBe(0);
    await expect.poll(() => feed.open.logs, { timeout: 5_000 }).toBe(0);
  });
});
