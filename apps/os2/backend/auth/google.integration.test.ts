/** Google sign-in exists only when both GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are set. */
import { afterEach, describe, expect, it } from "vitest";

import { createTestOs2, type TestOs2 } from "../testing/harness.ts";

describe("Google sign-in", () => {
  let t: TestOs2 | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const startGoogle = (os2: TestOs2) =>
    os2.fetch("/api/auth/sign-in/social", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:3001" },
      body: JSON.stringify({ provider: "google", callbackURL: "/" }),
    });

  it("is offered, and redirects to Google, when configured", async () => {
    t = await createTestOs2({ env: { GOOGLE_CLIENT_ID: "client-id.apps.example", GOOGLE_CLIENT_SECRET: "s3cret" } });
    expect((await t.client().user.authConfig.query()).google).toBe(true);
    const response = await startGoogle(t);
    expect(response.status).toBe(200);
    const { url } = (await response.json()) as { url: string };
    expect(new URL(url).hostname).toBe("accounts.google.com");
    expect(new URL(url).searchParams.get("client_id")).toBe("client-id.apps.example");
  });

  it("is neither offered nor accepted when only one of the two variables is set", async () => {
    t = await createTestOs2({ env: { GOOGLE_CLIENT_ID: "client-id.apps.example" } });
    expect((await t.client().user.authConfig.query()).google).toBe(false);
    const response = await startGoogle(t);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });
});
