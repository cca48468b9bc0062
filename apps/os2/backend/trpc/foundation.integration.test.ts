/**
 * The foundation's guarantees through the real HTTP surface: sign-in rules, organization and project
 * rules, secrets at rest, bad input, and realtime invalidations.
 */
import { TRPCClientError } from "@trpc/client";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";

import { createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../testing/harness.ts";

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string; httpStatus: number }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError) {
      const data = error.data as { code: string; httpStatus: number };
      return { code: data.code, message: error.message, httpStatus: data.httpStatus };
    }
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe("foundation", () => {
  let t: TestOs2;
  let owner: ReturnType<TestOs2["client"]>;
  let org: { slug: string; id: string };
  let project: { slug: string; id: string };

  beforeAll(async () => {
    t = await createTestOs2({ env: { ALLOW_SIGNUP_FROM_EMAILS: "*@example.com, Vip@Partner.io" } });
    owner = t.client({ cookie: await t.signIn("owner+test@example.com") });
    org = await owner.organization.create.mutate({ name: "Acme" });
    project = await owner.project.create.mutate({ organizationSlug: org.slug, name: "Alpha" });
  });
  afterAll(async () => t?.close());

  describe("sign-in", () => {
    it("answers every code request alike, and mails a code only to an address that may sign in", async () => {
      const request = (email: string) =>
        t.fetch("/api/auth/email-otp/send-verification-otp", {
          method: "POST",
          headers: { "content-type": "application/json", origin: "http://localhost:3001" },
          body: JSON.stringify({ email, type: "sign-in" }),
        });
      const before = t.logLines.length;
      const outsider = await request("mallory@evil.test");
      const allowed = await request("ada@example.com");
      // No account enumeration: the same status and body whoever asks.
      expect(outsider.status).toBe(200);
      expect(allowed.status).toBe(200);
      expect(await outsider.text()).toBe(await allowed.text());
      const logged = t.logLines.slice(before).join("\n");
      expect(logged).toMatch(/sign-in code for ada@example\.com: \d{6}/);
      expect(logged).not.toContain("mallory@evil.test");
    });

    it("matches exact allowlist entries case-insensitively", async () => {
      await expect(t.signIn("vip@partner.io".replace("@", "+test@"))).rejects.toThrow(/403/);
      // The exact address itself is allowed; +test is only a code shortcut, so sign in via the logged code.
      const response = await t.fetch("/api/auth/email-otp/send-verification-otp", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://localhost:3001" },
        body: JSON.stringify({ email: "VIP@partner.io", type: "sign-in" }),
      });
      expect(response.status).toBe(200);
    });

    it("logs real codes when SMTP is not configured, and sends nothing for +test addresses", async () => {
      const before = t.logLines.length;
      await t.fetch("/api/auth/email-otp/send-verification-otp", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://localhost:3001" },
        body: JSON.stringify({ email: "grace@example.com", type: "sign-in" }),
      });
      const logged = t.logLines.slice(before).find((line) => line.includes("grace@example.com"));
      expect(logged).toMatch(/sign-in code for grace@example.com: \d{6}/);
      await t.signIn("quiet+test@example.com");
      expect(t.logLines.some((line) => line.includes("quiet+test@example.com"))).toBe(false);
    });

    it("rejects a wrong code", async () => {
      const response = await t.fetch("/api/auth/sign-in/email-otp", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://localhost:3001" },
        body: JSON.stringify({ email: "grace@example.com", otp: "000000" }),
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    });
  });

  describe("organizations and projects", () => {
    it("gives project slugs a suffix on collision within an organization", async () => {
      const again = await owner.project.create.mutate({ organizationSlug: org.slug, name: "Alpha" });
      expect(again.slug).toBe("alpha-2");
    });

    it("never removes or demotes the last owner", async () => {
      const me = await owner.user.me.query();
      const demote = await errorOf(
        owner.organization.updateMemberRole.mutate({
          organizationSlug: org.slug,
          userId: me?.id ?? "",
          role: "member",
        }),
      );
      expect(demote.code).toBe("PRECONDITION_FAILED");
      expect(demote.message).toMatch(/at least one owner/);
      const leave = await errorOf(
        owner.organization.removeMember.mutate({ organizationSlug: org.slug, userId: me?.id ?? "" }),
      );
      expect(leave.code).toBe("PRECONDITION_FAILED");
    });

    it("lets an owner step down once another owner exists", async () => {
      const o = await owner.organization.create.mutate({ name: "Handover" });
      const second = await owner.organization.addMember.mutate({
        organizationSlug: o.slug,
        email: "heir+test@example.com",
        role: "owner",
      });
      const me = await owner.user.me.query();
      await owner.organization.updateMemberRole.mutate({
        organizationSlug: o.slug,
        userId: me?.id ?? "",
        role: "member",
      });
      const members = await owner.organization.members.query({ organizationSlug: o.slug });
      expect(members.find((m) => m.userId === second.userId)?.role).toBe("owner");
    });
  });

  describe("secrets at rest", () => {
    it("stores env var values encrypted and lists them masked", async () => {
      const secret = "sk-live-VERY-SECRET-4242";
      await owner.envVar.set.mutate({
        organizationSlug: org.slug,
        projectSlug: project.slug,
        key: "API_KEY",
        value: secret,
      });
      const listed = await owner.envVar.list.query({ organizationSlug: org.slug, projectSlug: project.slug });
      expect(JSON.stringify(listed)).not.toContain(secret);
      expect(listed.find((row) => row.key === "API_KEY")?.maskedValue).toMatch(/^•+$/);
      const rows = await t.os2.database.db.execute(sql`select value_encrypted from project_env_var`);
      expect(JSON.stringify(rows)).not.toContain(secret);
    });

    it("stores only the SHA-256 of access tokens and shows the raw token once", async () => {
      const created = await owner.accessToken.create.mutate({
        organizationSlug: org.slug,
        projectSlug: project.slug,
        name: "ci",
      });
      expect(created.token).toMatch(/^pat_/);
      const rows = await t.os2.database.db.execute(sql`select * from project_access_token`);
      expect(JSON.stringify(rows)).not.toContain(created.token);
      const listed = await owner.accessToken.list.query({ organizationSlug: org.slug, projectSlug: project.slug });
      expect(JSON.stringify(listed)).not.toContain(created.token);
    });

    it("records last use of an access token and rejects it once revoked", async () => {
      const created = await owner.accessToken.create.mutate({
        organizationSlug: org.slug,
        projectSlug: project.slug,
        name: "tmp",
      });
      const viaToken = t.client({ bearer: created.token });
      await viaToken.envVar.list.query({ organizationSlug: org.slug, projectSlug: project.slug });
      const listed = await owner.accessToken.list.query({ organizationSlug: org.slug, projectSlug: project.slug });
      expect(listed.find((row) => row.id === created.id)?.lastUsedAt).toBeInstanceOf(Date);
      await owner.accessToken.revoke.mutate({ organizationSlug: org.slug, projectSlug: project.slug, id: created.id });
      const denied = await errorOf(
        viaToken.envVar.list.query({ organizationSlug: org.slug, projectSlug: project.slug }),
      );
      expect(denied.code).toBe("UNAUTHORIZED");
    });
  });

  describe("bad input is a 400 naming the field", () => {
    const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
      [
        "an organization name over 100 characters",
        () => owner.organization.create.mutate({ name: "x".repeat(101) }),
        /name: Must be at most 100/,
      ],
      ["a bad organization slug", () => owner.organization.create.mutate({ name: "ok", slug: "Not A Slug" }), /slug:/],
      [
        "a bad email",
        () => owner.organization.addMember.mutate({ organizationSlug: "acme", email: "nope", role: "member" }),
        /email: Must be an email/,
      ],
      [
        "a bad env key",
        () =>
          owner.envVar.set.mutate({ organizationSlug: "acme", projectSlug: "alpha", key: "lower-case", value: "v" }),
        /key: Use uppercase/,
      ],
      [
        "an env value over 64 KiB",
        () =>
          owner.envVar.set.mutate({
            organizationSlug: "acme",
            projectSlug: "alpha",
            key: "BIG",
            value: "x".repeat(64 * 1024 + 1),
          }),
        /value: Must be at most 64 KiB/,
      ],
      [
        "a wrong type",
        () => owner.project.create.mutate({ organizationSlug: "acme", name: 42 as unknown as string }),
        /name:/,
      ],
      [
        "a malformed id",
        () => owner.envVar.delete.mutate({ organizationSlug: "acme", projectSlug: "alpha", id: "nope" }),
        /id: Must be an id starting with env_/,
      ],
    ];
    for (const [what, call, message] of cases) {
      it(`rejects ${what}`, async () => {
        const error = await errorOf(call());
        expect(error.code).toBe("BAD_REQUEST");
        expect(error.httpStatus).toBe(400);
        expect(error.message).toMatch(message);
      });
    }

    it("answers malformed JSON and unknown procedures with 4xx, never 500", async () => {
      const cookie = await t.signIn("owner+test@example.com");
      const responses = await Promise.all([
        t.fetch("/api/trpc/organization.create", {
          method: "POST",
          headers: { cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
          body: "{not json",
        }),
        t.fetch("/api/trpc/organization.create", {
          method: "POST",
          headers: { cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
          body: "[]",
        }),
        t.fetch("/api/trpc/nope.nothing", {
          method: "POST",
          headers: { cookie, origin: DASHBOARD_ORIGIN },
          body: "{}",
        }),
        t.fetch(`/api/trpc/project.list?input=${encodeURIComponent("%%%")}`, { headers: { cookie } }),
      ]);
      for (const response of responses) {
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
      }
    });

    it("answers anonymous callers with UNAUTHORIZED", async () => {
      expect((await errorOf(t.client().user.organizations.query())).code).toBe("UNAUTHORIZED");
    });
  });

  describe("realtime", () => {
    let port: number;
    beforeAll(async () => {
      port = Number(new URL(await t.listen()).port);
    });

    async function connect(cookie?: string) {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/api/ws/realtime`, {
        headers: cookie ? { cookie, origin: DASHBOARD_ORIGIN } : {},
      });
      const messages: unknown[] = [];
      socket.on("message", (data) => messages.push(JSON.parse(String(data))));
      await new Promise<void>((resolve, reject) => {
        socket.once("open", () => resolve());
        socket.once("error", reject);
        socket.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { socket, messages };
    }

    it("refuses anonymous sockets", async () => {
      await expect(connect()).rejects.toThrow(/401/);
    });

    it("sends invalidations after a mutation to members of that organization only", async () => {
      const member = await connect(await t.signIn("owner+test@example.com"));
      const outsider = await connect(await t.signIn("stranger+test@example.com"));
      await owner.envVar.set.mutate({ organizationSlug: org.slug, projectSlug: project.slug, key: "LIVE", value: "1" });
      await expect.poll(() => member.messages).toContainEqual({ type: "invalidate", keys: ["envVar", "machine"] });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(outsider.messages).not.toContainEqual(expect.objectContaining({ type: "invalidate" }));
      member.socket.close();
      outsider.socket.close();
    });

    it("sends nothing after a failed mutation", async () => {
      const member = await connect(await t.signIn("owner+test@example.com"));
      await errorOf(
        owner.envVar.set.mutate({ organizationSlug: org.slug, projectSlug: project.slug, key: "bad key", value: "1" }),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(member.messages).not.toContainEqual(expect.objectContaining({ type: "invalidate" }));
      member.socket.close();
    });
  });
});
