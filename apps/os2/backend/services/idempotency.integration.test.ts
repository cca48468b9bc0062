/**
 * Idempotency keys on the embedded database: a key runs its create once and replays the machine after; a
 * key past its day is taken over by the next create (in the reservation itself), and a failed create frees
 * its key.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { apiIdempotencyKey } from "../db/schema/idempotency.ts";
import { createTestOs2, type TestOs2 } from "../testing/harness.ts";
import { setUpProject } from "../testing/machine-fixtures.ts";
import { IdempotencyKeys } from "./idempotency.ts";

describe("idempotency keys", () => {
  let t: TestOs2;
  let projectId: string;
  let idempotency: IdempotencyKeys;
  beforeAll(async () => {
    t = await createTestOs2();
    projectId = (await setUpProject(t, "idem+test@example.com")).project.id;
    idempotency = new IdempotencyKeys(t.os2.database.db);
  });
  afterAll(() => t.close());

  const keys = () => idempotency;
  const row = async (key: string) =>
    (
      await t.os2.database.db
        .select()
        .from(apiIdempotencyKey)
        .where(and(eq(apiIdempotencyKey.projectId, projectId), eq(apiIdempotencyKey.key, key)))
    )[0];

  it("runs the create once for a key and answers its machine to the next request with the key", async () => {
    let made = 0;
    const create = async () => ({ id: `mach_made${++made}` });
    expect(await keys().once(projectId, "key-once", create)).toEqual({
      machineId: "mach_made1",
      replayed: false,
      made: { id: "mach_made1" },
    });
    expect(await keys().once(projectId, "key-once", create)).toEqual({ machineId: "mach_made1", replayed: true });
    expect(made).toBe(1);
  });

  it("takes over a key past its day: the next create with it makes a new machine", async () => {
    const dayAndAnHourAgo = new Date(Date.now() - 25 * 60 * 60_000);
    await t.os2.database.db
      .insert(apiIdempotencyKey)
      .values({ projectId, key: "key-old", machineId: "mach_yesterday", createdAt: dayAndAnHourAgo });
    const answer = await keys().once(projectId, "key-old", async () => ({ id: "mach_today" }));
    expect(answer).toMatchObject({ machineId: "mach_today", replayed: false });
    expect(await row("key-old")).toMatchObject({ machineId: "mach_today" });
    expect((await row("key-old"))?.createdAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it("frees the key of a failed create, so a retry creates", async () => {
    await expect(keys().once(projectId, "key-fails", () => Promise.reject(new Error("provider down")))).rejects.toThrow(
      "provider down",
    );
    expect(await row("key-fails")).toBeUndefined();
    expect(await keys().once(projectId, "key-fails", async () => ({ id: "mach_retry" }))).toMatchObject({
      machineId: "mach_retry",
      replayed: false,
    });
  });
});
