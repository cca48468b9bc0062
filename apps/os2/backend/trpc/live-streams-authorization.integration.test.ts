/**
 * The authorization matrix's rows for the live streams (`machine.followLogs`, `machine.usage`,
 * `machine.usageMany`), which the matrix itself cannot hold: its calls go through `httpLink`, which has no
 * subscriptions, and its world has no machine. Here every kind of caller opens each stream over a real
 * socket as the SPA does (server-sent events), and gets exactly what a project query gives them: data for
 * the project's members and its own token, the matrix's refusal for everyone else, and no data first.
 * Runs on PGlite and on a real PostgreSQL server (DATABASE_URL_TEST).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createUnconfiguredDaytonaProvider } from "../providers/daytona/index.ts";
import { createTestOs2, type TestOs2 } from "../testing/harness.ts";
import { waitForObservedState } from "../testing/machine-fixtures.ts";
import { errorCode, type Fetcher, openSubscription, overSocket } from "../testing/sse.ts";
import { createStreamProvider, type StreamProvider } from "../testing/stream-provider.ts";

type Caller =
  "anonymous" | "outsider" | "member" | "admin" | "owner" | "systemAdmin" | "otherProjectToken" | "ownProjectToken";
type Auth = { cookie?: string; bearer?: string };
type Scope = { organizationSlug: string; projectSlug: string };
type World = { scope: Scope; machineId: string };

/** As PROJECT_ANY in authorization-matrix.integration.test.ts: streams are read like any project query. */
const EXPECTED: Record<Caller, string> = {
  anonymous: "UNAUTHORIZED",
  outsider: "NOT_FOUND",
  systemAdmin: "NOT_FOUND",
  otherProjectToken: "NOT_FOUND",
  member: "ok",
  admin: "ok",
  owner: "ok",
  ownProjectToken: "ok",
};

type Stream = {
  path: string;
  input(scope: Scope, machineId: string): unknown;
  /** Throws unless `data` is what this stream sends first. */
  checkFirst(data: unknown, machineId: string): void;
};

const STREAMS: Stream[] = [
  {
    path: "machine.followLogs",
    input: (scope, machineId) => ({ ...scope, machineId, tail: 7 }),
    checkFirst: (data) => expect(data).toEqual({ kind: "reset", lines: ["tail of 7"] }),
  },
  {
    path: "machine.usage",
    input: (scope, machineId) => ({ ...scope, machineId }),
    checkFirst: (data) => expect(data).toMatchObject({ memoryBytes: 64 * 1024 * 1024, pids: 3 }),
  },
  {
    path: "machine.usageMany",
    input: (scope, machineId) => ({ ...scope, machineIds: [machineId] }),
    checkFirst: (data, machineId) => expect(data).toMatchObject({ machineId, sample: { pids: 3 } }),
  },
];

/** "ok" when the stream's first event is its data, else the tRPC code it ended with at once. */
async function outcomeOf(fetcher: Fetcher, stream: Stream, input: unknown, auth: Auth, machineId: string) {
  const subscription = await openSubscription(fetcher, stream.path, input, auth);
  try {
    const first = await subscription.next();
    if (first?.event === "message") {
      stream.checkFirst(first.data, machineId);
      return "ok";
    }
    const code = errorCode(first);
    if (!code) throw new Error(`${stream.path}: expected data or an error first, got ${JSON.stringify(first)}`);
    // Refused: the stream is over, nothing follows.
    expect(await subscription.next()).toBeNull();
    return code;
  } finally {
    subscription.close();
  }
}

const databases = [
  { name: "PGlite", database: "pglite" as const, enabled: true },
  { name: "PostgreSQL", database: "postgres" as const, enabled: Boolean(process.env.DATABASE_URL_TEST) },
];

for (const target of databases) {
  describe.skipIf(!target.enabled)(`live streams' authorization on ${target.name}`, () => {
    let t: TestOs2;
    let feed: StreamProvider;
    let fetcher: Fetcher;
    const auth = {} as Record<Caller, Auth>;
    let world: World;
    /** The outsider's own project, with a machine of its own. */
    let elsewhere: World;

    beforeAll(async () => {
      feed = await createStreamProvider();
      t = await createTestOs2({
        database: target.database,
        env: { OS2_ADMIN_EMAILS: "root+test@example.com" },
        providers: { "local-docker": feed.provider, daytona: createUnconfiguredDaytonaProvider() },
      });
      fetcher = overSocket(await t.listen());
      for (const [caller, email] of [
        ["owner", "owner+test@example.com"],
        ["admin", "admin+test@example.com"],
        ["member", "member+test@example.com"],
        ["outsider", "outsider+test@example.com"],
        ["systemAdmin", "root+test@example.com"],
      ] as const) {
        auth[caller] = { cookie: await t.signIn(email) };
      }
      auth.anonymous = {};

      const owner = t.client(auth.owner);
      const org = await owner.organization.create.mutate({ name: "Streams Org" });
      const project = await owner.project.create.mutate({ organizationSlug: org.slug, name: "Alpha" });
      const scope = { organizationSlug: org.slug, projectSlug: project.slug };
      for (const [email, role] of [
        ["admin+test@example.com", "admin"],
        ["member+test@example.com", "member"],
      ] as const) {
        await owner.organization.addMember.mutate({ organizationSlug: org.slug, email, role });
      }
      auth.ownProjectToken = { bearer: (await owner.accessToken.create.mutate({ ...scope, name: "own" })).token };
      const machine = await owner.machine.create.mutate({ ...scope, name: "watched", type: "local-docker" });
      await waitForObservedState(() => owner.machine.byId.query({ ...scope, machineId: machine.id }), "running");
      world = { scope, machineId: machine.id };

      const outsider = t.client(auth.outsider);
      const otherOrg = await outsider.organization.create.mutate({ name: "Elsewhere" });
      const otherProject = await outsider.project.create.mutate({ organizationSlug: otherOrg.slug, name: "Beta" });
      const otherScope = { organizationSlug: otherOrg.slug, projectSlug: otherProject.slug };
      auth.otherProjectToken = {
        bearer: (await outsider.accessToken.create.mutate({ ...otherScope, name: "other" })).token,
      };
      const theirs = await outsider.machine.create.mutate({ ...otherScope, name: "theirs", type: "local-docker" });
      await waitForObservedState(() => outsider.machine.byId.query({ ...otherScope, machineId: theirs.id }), "running");
      elsewhere = { scope: otherScope, machineId: theirs.id };
    });
    afterAll(async () => {
      await t?.close();
      await feed?.close();
    });

    for (const stream of STREAMS) {
      it(`${stream.path} streams to exactly the callers a project query allows`, async () => {
        const results = {} as Record<Caller, string>;
        for (const caller of Object.keys(EXPECTED) as Caller[]) {
          const input = stream.input(world.scope, world.machineId);
          results[caller] = await outcomeOf(fetcher, stream, input, auth[caller], world.machineId);
        }
        expect(results).toEqual(EXPECTED);
      });

      it(`${stream.path} does not reach a machine of another project named under the caller's own project`, async () => {
        // The outsider's session and the other project's token pass the project check for their own project;
        // the machine must still be looked up in that project only.
        const input = stream.input(elsewhere.scope, world.machineId);
        expect(await outcomeOf(fetcher, stream, input, auth.outsider, world.machineId)).toBe("NOT_FOUND");
        expect(await outcomeOf(fetcher, stream, input, auth.otherProjectToken, world.machineId)).toBe("NOT_FOUND");
        // …while their own machine streams to them: the refusal above is about the machine, not the caller.
        const own = stream.input(elsewhere.scope, elsewhere.machineId);
        expect(await outcomeOf(fetcher, stream, own, auth.otherProjectToken, elsewhere.machineId)).toBe("ok");
      });
    }

    it("a refused caller gets no server-side stream and holds no stream slot", async () => {
      const logStreamsBefore = feed.logStreams.length;
      for (const caller of ["anonymous", "outsider", "systemAdmin", "otherProjectToken"] as const) {
        for (const stream of STREAMS) {
          const input = stream.input(world.scope, world.machineId);
          expect(await outcomeOf(fetcher, stream, input, auth[caller], world.machineId)).not.toBe("ok");
        }
      }
      expect(feed.logStreams.length).toBe(logStreamsBefore);
      await expect.poll(() => t.os2.deps.services.streamSlots.open).toBe(0);
    });
  });
}
