/**
 * The fixed sign-in code works only where it is turned on: by default on local (`local-…`) and developer
 * (`dev-…`) stages, elsewhere only with OS2_TEST_OTP=true. Outside local stages, codes never go to the
 * log; without a mail transport, sign-in says so, alike for every address.
 */
import { afterEach, describe, expect, it } from "vitest";

import { createTestOs2, type TestOs2 } from "../testing/harness.ts";

describe("sign-in by stage", () => {
  let t: TestOs2 | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const send = (os2: TestOs2, email: string) =>
    os2.fetch("/api/auth/email-otp/send-verification-otp", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:3001" },
      body: JSON.stringify({ email, type: "sign-in" }),
    });

  it("refuses the fixed code for +test@ on stg unless OS2_TEST_OTP=true", async () => {
    t = await createTestOs2({ env: { APP_STAGE: "stg", OS2_TEST_OTP: "" } });
    await expect(t.signIn("intruder+test@example.com")).rejects.toThrow(/failed/);
    await t.close();
    t = await createTestOs2({ env: { APP_STAGE: "stg", OS2_TEST_OTP: "true" } });
    expect(await t.signIn("tester+test@example.com")).toMatch(/session_token/);
  });

  it("never logs a code on a non-local stage, and says that mail is not set up, for every address alike", async () => {
    for (const stage of ["stg", "production", "pr-12"]) {
      t = await createTestOs2({ env: { APP_STAGE: stage, OS2_TEST_OTP: "" } });
      const known = await send(t, "ada@example.com");
      const unknown = await send(t, "mallory@evil.test");
      expect(known.status, stage).toBe(503);
      expect(unknown.status, stage).toBe(503);
      const [knownBody, unknownBody] = [await known.text(), await unknown.text()];
      expect(knownBody).toBe(unknownBody);
      expect(knownBody).toContain("SMTP_URL");
      expect(t.logLines.join("\n"), stage).not.toMatch(/sign-in code/);
      await t.close();
      t = undefined;
    }
  });
});
