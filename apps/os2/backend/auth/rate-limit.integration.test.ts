import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestOs2, type TestOs2 } from "../testing/harness.ts";

describe("sign-in code requests", () => {
  let t: TestOs2;
  beforeAll(async () => {
    t = await createTestOs2({ env: { OTP_RATE_LIMIT_PER_MINUTE: "3" } });
  });
  afterAll(async () => t?.close());

  it("are rate-limited per client: the request over the limit gets 429", async () => {
    const send = () =>
      t.fetch("/api/auth/email-otp/send-verification-otp", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          origin: "http://localhost:3001",
          "x-forwarded-for": "203.0.113.7",
        },
        body: JSON.stringify({ email: "flood@example.com", type: "sign-in" }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await send()).status);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual([429, 429]);
  });

  it("key on the socket address, so a client cannot dodge the limit with its own X-Forwarded-For", async () => {
    const base = await t.listen();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${base}/api/auth/email-otp/send-verification-otp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          origin: "http://localhost:3001",
          "x-forwarded-for": `198.51.100.${i}`,
        },
        body: JSON.stringify({ email: "spoof@example.com", type: "sign-in" }),
      });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});
