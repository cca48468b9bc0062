/**
 * The machine list cache through the dashboard's API, with a cache long enough (60 s) that only an
 * invalidation can explain a fresh page: a page is read once for many callers; a change os2 publishes for
 * the organization, on this instance or (over PostgreSQL NOTIFY) on another, makes the next read fresh; an
 * organization's change leaves other organizations' pages alone; and a cached page is one project's only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { machine } from "../../db/schema/machine.ts";
import { newId } from "../../ids.ts";
import { createScratchDatabase, createTestOs2, type TestOs2 } from "../../testing/harness.ts";
import { setUpProject } from "../../testing/machine-fixtures.ts";

const LONG_CACHE = { OS2_MACHINE_LIST_CACHE_MS: "60000" };

type Fixture = Awaited<ReturnType<typeof setUpProject>>;

/** A stopped machine row written behind os2's back: no event, no publish. */
async function insertBehindItsBack(t: TestOs2, projectId: string, name: string) {
  const id = newId("machine");
  await t.os2.database.db.insert(machine).values({
    id,
    projectId,
    name,
    type: "local-docker",
    desiredState: "stopped",
    observedState: "stopped",
    authTokenEncrypted: t.os2.deps.encryptor.encrypt("list-cache-test-token"),
  });
  return id;
}

const names = async (fx: Fixture, api = fx.api) =>
  (await api.machine.list.query({ ...fx.scope })).machines.map((m) => m.name).sort();

describe("machine list cache on one instance", () => {
  let t: TestOs2;
  let a: Fixture;
  let b: Fixture;

  beforeAll(async () => {
    t = await createTestOs2({ env: LONG_CACHE });
    a = await setUpProject(t, "cache-a+test@example.com");
    b = await setUpProject(t, "cache-b+test@example.com");
  });
  afterAll(() => t.close());

  it("serves a page from the cache until a change os2 publishes for the organization, then reads it fresh", async () => {
    await insertBehindItsBack(t, a.project.id, "first");
    expect(await names(a)).toEqual(["first"]);
    // Written without a publish: the cached page stands (this is what proves a cache answers).
    await insertBehindItsBack(t, a.project.id, "second");
    expect(await names(a)).toEqual(["first"]);
    // Any change os2 publishes for the organization (here, an env var) ends the page's moment at once.
    await a.api.envVar.set.mutate({ ...a.scope, key: "CACHE_TEST", value: "1" });
    expect(await names(a)).toEqual(["first", "second"]);
  });

  it("another organization's change leaves this one's pages cached, and pages are per project", async () => {
    await insertBehindItsBack(t, a.project.id, "third");
    await b.api.envVar.set.mutate({ ...b.scope, key: "OTHER_ORG", value: "1" });
    expect(await names(a)).toEqual(["first", "second"]);
    expect(await names(b)).toEqual([]);
    // The same page asked for in another way (archived included, another limit) is read on its own.
    const withArchived = await a.api.machine.list.query({ ...a.scope, includeArchived: true });
    expect(withArchived.machines.map((m) => m.name).sort()).toEqual(["first", "second", "third"]);
  });

  it("a machine row changed by os2 itself (a delete) shows in the next page read", async () => {
    const [first] = (await a.api.machine.list.query({ ...a.scope })).machines.filter((m) => m.name === "first");
    await a.api.machine.delete.mutate({ ...a.scope, machineId: first?.id ?? "", force: true });
    expect(await names(a)).not.toContain("first");
  });
});

describe.skipIf(!process.env.DATABASE_URL_TEST)("machine list cache across two instances on PostgreSQL", () => {
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  let one: TestOs2;
  let two: TestOs2;
  let fx: Fixture;

  beforeAll(async () => {
    database = await createScratchDatabase();
    one = await createTestOs2({ databaseUrl: database.url, env: LONG_CACHE });
    two = await createTestOs2({ databaseUrl: database.url, env: LONG_CACHE });
    fx = await setUpProject(one, "cache-pair+test@example.com");
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await database?.drop();
  });

  it("a change published on the other instance makes this instance's cached page fresh once its NOTIFY arrives", async () => {
    await insertBehindItsBack(one, fx.project.id, "before");
    expect(await names(fx)).toEqual(["before"]);
    await insertBehindItsBack(one, fx.project.id, "after");
    expect(await names(fx)).toEqual(["before"]);
    // The same member, signed in on the other instance, changes something in the organization there.
    const onTwo = two.client({ cookie: await two.signIn("cache-pair+test@example.com") });
    await onTwo.envVar.set.mutate({ ...fx.scope, key: "FROM_TWO", value: "1" });
    // Within the 60 s cache only the invalidation from the other instance can explain a fresh page.
    await expect.poll(() => names(fx), { timeout: 10_000, interval: 100 }).toEqual(["after", "before"]);
  });
});
