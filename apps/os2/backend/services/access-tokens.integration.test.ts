/**
 * An access token lives only while its creator may reach the project: a member who minted one and then
 * left (or was removed from) the organization takes it with them. Tokens expire (90 days unless chosen
 * otherwise) and record their last use.
 */
import { TRPCClientError } from "@trpc/client";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { projectAccessToken } from "../db/schema/project-access-token.ts";
import { createTestOs2, type TestOs2 } from "../testing/harness.ts";
import { setUpProject } from "../testing/machine-fixtures.ts";

describe("access tokens", () => {
  let t: TestOs2;
  let fx: Awaited<ReturnType<typeof setUpProject>>;

  beforeAll(async () => {
    t = await createTestOs2();
    fx = await setUpProject(t, "token-owner+test@example.com");
  });
  afterAll(async () => {
    await t?.close();
  });

  const codeOf = async (promise: Promise<unknown>) =>
    promise.then(
      () => "OK",
      (error: unknown) => (error instanceof TRPCClientError ? (error.data as { code: string }).code : String(error)),
    );

  it("refuses a token once the member who minted it is removed from the organization", async () => {
    const memberCookie = await t.signIn("token-member+test@example.com");
    await fx.api.organization.addMember.mutate({
      organizationSlug: fx.org.slug,
      email: "token-member+test@example.com",
    });
    const member = t.client({ cookie: memberCookie });
    const minted = await member.accessToken.create.mutate({ ...fx.scope, name: "member's" });
    const byToken = t.client({ bearer: minted.token });
    expect(await codeOf(byToken.envVar.list.query(fx.scope))).toBe("OK");

    const me = await member.user.me.query();
    await fx.api.organization.removeMember.mutate({ organizationSlug: fx.org.slug, userId: me?.id ?? "" });
    expect(await codeOf(byToken.envVar.list.query(fx.scope))).toBe("UNAUTHORIZED");
    // The owner's own tokens are unaffected.
    const owners = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "owner's" });
    expect(await codeOf(t.client({ bearer: owners.token }).envVar.list.query(fx.scope))).toBe("OK");
  });

  it("expires after 90 days by default, after the days chosen, or never; and refuses an expired one", async () => {
    const day = 24 * 60 * 60 * 1000;
    const byDefault = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "default" });
    expect(byDefault.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 89 * day);
    expect(byDefault.expiresAt?.getTime()).toBeLessThan(Date.now() + 91 * day);
    const week = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "week", expiresInDays: 7 });
    expect(week.expiresAt?.getTime()).toBeLessThan(Date.now() + 8 * day);
    const forever = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "forever", expiresInDays: null });
    expect(forever.expiresAt).toBeNull();

    const byToken = t.client({ bearer: week.token });
    expect(await codeOf(byToken.envVar.list.query(fx.scope))).toBe("OK");
    await t.os2.database.db
      .update(projectAccessToken)
      .set({ expiresAt: new Date(Date.now() - 1_000) })
      .where(eq(projectAccessToken.id, week.id));
    expect(await codeOf(byToken.envVar.list.query(fx.scope))).toBe("UNAUTHORIZED");
    const listed = await fx.api.accessToken.list.query(fx.scope);
    expect(listed.find((token) => token.id === week.id)?.lastUsedAt).toBeInstanceOf(Date);
    expect(listed.find((token) => token.id === forever.id)?.expiresAt).toBeNull();
  });
});
