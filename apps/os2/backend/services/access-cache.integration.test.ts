/**
 * The access service remembers who a session is and who may reach a project for at most ACCESS_CACHE_MS
 * (access-cache.ts). What that must never cost: a change made through this process (sign-out, a rename,
 * a removed member) holds from the very next request; a change made by another os2 instance on the same
 * PostgreSQL holds there as soon as its notice arrives (access-peers.ts), long before the bound; a row
 * changed underneath by anything else holds once the bound has passed; an access token revoked anywhere is
 * refused at once.
 */
import { TRPCClientError } from "@trpc/client";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { session } from "../db/schema/auth.ts";
import { organizationMembership } from "../db/schema/organization.ts";
import { createScratchDatabase, createTestOs2, DASHBOARD_ORIGIN, type TestOs2 } from "../testing/harness.ts";
import { setUpProject } from "../testing/machine-fixtures.ts";
import { ACCESS_CACHE_MS } from "./access-cache.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Past the bound, with room for a slow host (the cache counts from when it read). */
const PAST_THE_BOUND = ACCESS_CACHE_MS + 250;
const KEPT_A_MINUTE = { OS2_ACCESS_CACHE_MS: "60000" };
/** A notice between instances takes milliseconds; 5 s leaves room for a loaded host, and is far from 60 s. */
const NOTICE_WITHIN_MS = 5_000;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (error instanceof TRPCClientError) return String((error.data as { code?: string } | undefined)?.code);
    throw error;
  }
}

/** Polls until `call` answers `code` (the other instance's notice arrived), failing after NOTICE_WITHIN_MS. */
async function untilCode(what: string, call: () => Promise<unknown>, code: string): Promise<void> {
  const deadline = Date.now() + NOTICE_WITHIN_MS;
  let last = "";
  while (Date.now() < deadline) {
    last = await codeOf(call());
    if (last === code) return;
    await sleep(50);
  }
  throw new Error(`${what}: still ${last} after ${NOTICE_WITHIN_MS} ms, expected ${code}`);
}

describe("access cache on one instance", () => {
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;

  beforeAll(async () => {
    t = await createTestOs2();
    fx = await setUpProject(t, "cache-owner+test@example.com");
  });
  afterAll(async () => t?.close());

  it("a sign-out here ends the session on the next request", async () => {
    const cookie = await t.signIn("cache-leaver+test@example.com");
    const api = t.client({ cookie });
    expect(await api.user.me.query()).toMatchObject({ email: "cache-leaver+test@example.com" });
    const signedOut = await t.fetch("/api/auth/sign-out", {
      method: "POST",
      headers: { cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
      body: "{}",
    });
    expect(signedOut.status).toBe(200);
    // The same cookie, sent again at once (a copy kept elsewhere): nobody.
    expect(await api.user.me.query()).toBeNull();
  });

  it("a rename and a removed member made here hold on the next request", async () => {
    await fx.api.user.me.query();
    await fx.api.user.update.mutate({ name: "Renamed Owner" });
    expect(await fx.api.user.me.query()).toMatchObject({ name: "Renamed Owner" });

    const memberCookie = await t.signIn("cache-member+test@example.com");
    const member = t.client({ cookie: memberCookie });
    const added = await fx.api.organization.addMember.mutate({
      organizationSlug: fx.org.slug,
      email: "cache-member+test@example.com",
      role: "member",
    });
    expect(await codeOf(member.machine.list.query(fx.scope))).toBe("ok");
    await fx.api.organization.removeMember.mutate({ organizationSlug: fx.org.slug, userId: added.userId });
    expect(await codeOf(member.machine.list.query(fx.scope))).toBe("NOT_FOUND");
  });

  it("a session or membership removed underneath (by another process) is refused once the bound has passed", async () => {
    const cookie = await t.signIn("cache-elsewhere+test@example.com");
    const api = t.client({ cookie });
    const added = await fx.api.organization.addMember.mutate({
      organizationSlug: fx.org.slug,
      email: "cache-elsewhere+test@example.com",
      role: "member",
    });
    expect(await codeOf(api.machine.list.query(fx.scope))).toBe("ok");
    const db = t.os2.database.db;
    await db
      .delete(organizationMembership)
      .where(
        and(eq(organizationMembership.organizationId, fx.org.id), eq(organizationMembership.userId, added.userId)),
      );
    await sleep(PAST_THE_BOUND);
    expect(await codeOf(api.machine.list.query(fx.scope))).toBe("NOT_FOUND");

    expect(await api.user.me.query()).toMatchObject({ email: "cache-elsewhere+test@example.com" });
    await db.delete(session).where(eq(session.userId, added.userId));
    await sleep(PAST_THE_BOUND);
    expect(await api.user.me.query()).toBeNull();
    expect(await codeOf(api.machine.list.query(fx.scope))).toBe("UNAUTHORIZED");
  });

  it("a revoked access token is refused at once (tokens are never cached)", async () => {
    const { id, token } = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "cached?" });
    const viaToken = t.client({ bearer: token });
    expect(await codeOf(viaToken.machine.list.query(fx.scope))).toBe("ok");
    await fx.api.accessToken.revoke.mutate({ ...fx.scope, id });
    expect(await codeOf(viaToken.machine.list.query(fx.scope))).toBe("UNAUTHORIZED");
  });
});

describe.skipIf(!process.env.DATABASE_URL_TEST)("access cache across two instances on one PostgreSQL", () => {
  let a: TestOs2;
  let b: TestOs2;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const scratch = await createScratchDatabase();
    drop = scratch.drop;
    // Answers kept for a minute: only the other instance's notice can explain a refusal within seconds.
    a = await createTestOs2({ databaseUrl: scratch.url, env: KEPT_A_MINUTE });
    b = await createTestOs2({ databaseUrl: scratch.url, env: KEPT_A_MINUTE });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await drop?.();
  });

  it("a removed member, a role change and a sign-out on one instance hold on the other within moments, not at the bound", async () => {
    const fx = await setUpProject(a, "pair-owner+test@example.com");
    const cookie = await a.signIn("pair-member+test@example.com");
    const added = await fx.api.organization.addMember.mutate({
      organizationSlug: fx.org.slug,
      email: "pair-member+test@example.com",
      role: "member",
    });
    const onB = b.client({ cookie });
    // Only an admin gets past the permission check of a project rename; this one then fails on its input
    // (BAD_REQUEST), so it changes nothing and makes B forget nothing: only A's notice can.
    const rename = () => onB.project.update.mutate({ ...fx.scope, newSlug: "Not A Slug" });
    await fx.api.organization.updateMemberRole.mutate({
      organizationSlug: fx.org.slug,
      userId: added.userId,
      role: "admin",
    });
    await untilCode("B lets the new admin past the permission check", rename, "BAD_REQUEST");
    await fx.api.organization.updateMemberRole.mutate({
      organizationSlug: fx.org.slug,
      userId: added.userId,
      role: "member",
    });
    await untilCode("B refuses the rename by a member no longer admin", rename, "FORBIDDEN");

    expect(await codeOf(onB.machine.list.query(fx.scope))).toBe("ok");
    await fx.api.organization.removeMember.mutate({ organizationSlug: fx.org.slug, userId: added.userId });
    await untilCode("B refuses the removed member", () => onB.machine.list.query(fx.scope), "NOT_FOUND");

    expect(await onB.user.me.query()).toMatchObject({ email: "pair-member+test@example.com" });
    const signedOut = await a.fetch("/api/auth/sign-out", {
      method: "POST",
      headers: { cookie, origin: DASHBOARD_ORIGIN, "content-type": "application/json" },
      body: "{}",
    });
    expect(signedOut.status).toBe(200);
    await untilCode("B forgets the signed-out session", () => onB.machine.list.query(fx.scope), "UNAUTHORIZED");
    expect(await onB.user.me.query()).toBeNull();
  });
});
