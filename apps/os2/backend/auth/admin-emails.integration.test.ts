/**
 * OS2_ADMIN_EMAILS applies at every sign-in: an account that existed before its address was added becomes
 * a system administrator the next time it signs in, not only accounts created afterwards.
 */
import { afterAll, describe, expect, it } from "vitest";

import { createScratchDatabase, createTestOs2, type TestOs2 } from "../testing/harness.ts";

describe("admin emails", () => {
  const open: TestOs2[] = [];
  let database: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()));
    await database?.drop();
  });

  it("make an existing account an administrator at its next sign-in", async () => {
    database = await createScratchDatabase();
    const before = await createTestOs2({ databaseUrl: database.url });
    open.push(before);
    const early = before.client({ cookie: await before.signIn("early+test@example.com") });
    expect(await early.user.me.query()).toMatchObject({ email: "early+test@example.com", role: "user" });
    await before.close();
    open.pop();

    // The same database, now with the address listed (as after editing .env and restarting).
    const after = await createTestOs2({
      databaseUrl: database.url,
      env: { OS2_ADMIN_EMAILS: "Early+test@example.com" },
    });
    open.push(after);
    const promoted = after.client({ cookie: await after.signIn("early+test@example.com") });
    expect(await promoted.user.me.query()).toMatchObject({ role: "admin" });
    expect((await promoted.admin.users.query()).map((row) => row.email)).toContain("early+test@example.com");
  });
});
