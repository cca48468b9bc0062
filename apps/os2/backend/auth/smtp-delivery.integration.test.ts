/** With SMTP_URL set, sign-in codes go out by mail (to a local SMTP server here) and never to the log. */
import type { AddressInfo } from "node:net";

import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestOs2, type TestOs2 } from "../testing/harness.ts";

describe("sign-in codes over SMTP", () => {
  let smtp: SMTPServer;
  const mails: Array<{ to: string[]; body: string }> = [];
  let t: TestOs2;

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      onData(stream, session, callback) {
        let body = "";
        stream.on("data", (chunk: Buffer) => (body += chunk.toString()));
        stream.on("end", () => {
          mails.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address), body });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
    const port = (smtp.server.address() as AddressInfo).port;
    t = await createTestOs2({ env: { SMTP_URL: `smtp://127.0.0.1:${port}`, SMTP_FROM: "os2 <login@os2.test>" } });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it("mails the 6-digit code, which then signs the user in, and keeps it out of the server log", async () => {
    const email = "grace@example.com";
    const headers = { "content-type": "application/json", origin: "http://localhost:3001" };
    const sent = await t.fetch("/api/auth/email-otp/send-verification-otp", {
      method: "POST",
      headers,
      body: JSON.stringify({ email, type: "sign-in" }),
    });
    expect(sent.status).toBe(200);
    await expect.poll(() => mails.length, { timeout: 10_000 }).toBe(1);
    expect(mails[0]?.to).toEqual([email]);
    const code = /sign-in code is (\d{6})/.exec(mails[0]?.body ?? "")?.[1];
    expect(code).toMatch(/^\d{6}$/);
    expect(t.logLines.join("\n")).not.toContain(code);

    const signedIn = await t.fetch("/api/auth/sign-in/email-otp", {
      method: "POST",
      headers,
      body: JSON.stringify({ email, otp: code }),
    });
    expect(signedIn.status).toBe(200);
  });
});
