/** The API refuses bodies over 1 MiB and batches of more than 20 calls with 413 and a message saying which. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../testing/harness.ts";
import { TRPC_MAX_BATCH } from "./limits.ts";

describe("API limits", () => {
  let t: TestOs2;
  let cookie: string;

  beforeAll(async () => {
    t = await createTestOs2();
    cookie = await t.signIn("limits+test@example.com");
  });
  afterAll(async () => {
    await t?.close();
  });

  it("refuses a tRPC body over 1 MiB with 413 naming the limit", async () => {
    const response = await t.fetch("/api/trpc/organization.create", {
      method: "POST",
      headers: { cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ json: { name: "x".repeat(1_100_000) } }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/over 1 MiB/);
  });

  it("refuses a batch of more than 20 calls with 413, and serves one of 20", async () => {
    const batch = (n: number) =>
      t.fetch(
        `/api/trpc/${Array.from({ length: n }, () => "user.me").join(",")}?batch=1&input=${encodeURIComponent(JSON.stringify({}))}`,
        { headers: { cookie } },
      );
    const tooMany = await batch(TRPC_MAX_BATCH + 1);
    expect(tooMany.status).toBe(413);
    expect(((await tooMany.json()) as { error: { message: string } }).error.message).toMatch(/at most 20 calls/);
    expect((await batch(TRPC_MAX_BATCH)).status).toBe(200);
  });
});
