/** System administrators can act as another user and come back; nobody else can. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { applySetCookies, createTestOs2, type TestOs2 } from "../testing/harness.ts";

const ORIGIN = "http://localhost:3001";

describe("impersonation", () => {
  let t: TestOs2;
  let adminCookie: string;
  let userId: string;
  let userCookie: string;

  beforeAll(async () => {
    t = await createTestOs2({ env: { OS2_ADMIN_EMAILS: "root+test@example.com" } });
    adminCookie = await t.signIn("root+test@example.com");
    userCookie = await t.signIn("ada+test@example.com");
    userId = (await t.client({ cookie: userCookie }).user.me.query())?.id ?? "";
  });
  afterAll(async () => t?.close());

  const post = (path: string, cookie: string, body: unknown) =>
    t.fetch(`/api/auth${path}`, {
      method: "POST",
      headers: { cookie, origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("lets a system admin act as a user, marked as impersonated, and stop again", async () => {
    const started = await post("/admin/impersonate-user", adminCookie, { userId });
    expect(started.status).toBe(200);
    const impersonating = applySetCookies(adminCookie, started);
    const me = await t.client({ cookie: impersonating }).user.me.query();
    expect(me?.email).toBe("ada+test@example.com");
    expect(me?.impersonatedBy).toMatch(/^usr_/);

    const stopped = await post("/admin/stop-impersonating", impersonating, {});
    expect(stopped.status).toBe(200);
    const back = await t.client({ cookie: applySetCookies(impersonating, stopped) }).user.me.query();
    expect(back?.email).toBe("root+test@example.com");
    expect(back?.impersonatedBy).toBeNull();
  });

  it("refuses impersonation to anyone who is not a system admin", async () => {
    const other = await t.signIn("eve+test@example.com");
    const response = await post("/admin/impersonate-user", other, { userId });
    expect(response.status).toBeGreaterThanOrEqual(401);
    expect(response.status).toBeLessThan(500);
  });
});
