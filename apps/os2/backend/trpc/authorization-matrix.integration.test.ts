/**
 * Every procedure, called as every kind of caller, against the expected allow/deny. Runs on PGlite and on
 * a real PostgreSQL server (DATABASE_URL_TEST, provided by the test script). The subscriptions (live logs
 * and usage) need a machine and server-sent events, which `httpLink` cannot carry: their rows are in
 * live-streams-authorization.integration.test.ts.
 */
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestOs2, type TestOs2 } from "../testing/harness.ts";

type Caller =
  "anonymous" | "outsider" | "member" | "admin" | "owner" | "systemAdmin" | "otherProjectToken" | "ownProjectToken";
const CALLERS: Caller[] = [
  "anonymous",
  "outsider",
  "member",
  "admin",
  "owner",
  "systemAdmin",
  "otherProjectToken",
  "ownProjectToken",
];
type Outcome = "ok" | "UNAUTHORIZED" | "NOT_FOUND" | "FORBIDDEN";
type Api = ReturnType<TestOs2["client"]>;

type World = { org: string; project: string; memberUserId: string; envVarId: string; tokenId: string };

type Row = {
  procedure: string;
  /** Destructive calls get a fresh world per caller so one caller's success can't change another's result. */
  fresh?: boolean;
  call(api: Api, world: World): Promise<unknown>;
  expect: Partial<Record<Caller, Outcome>> & { default: Outcome };
};

const USERS_ONLY = {
  anonymous: "UNAUTHORIZED",
  otherProjectToken: "UNAUTHORIZED",
  ownProjectToken: "UNAUTHORIZED",
} as const;
const ORG_MEMBERS = { ...USERS_ONLY, outsider: "NOT_FOUND", systemAdmin: "NOT_FOUND", default: "ok" } as const;
const ORG_ADMINS = { ...ORG_MEMBERS, member: "FORBIDDEN" } as const;
const PROJECT_ANY = {
  anonymous: "UNAUTHORIZED",
  outsider: "NOT_FOUND",
  systemAdmin: "NOT_FOUND",
  otherProjectToken: "NOT_FOUND",
  default: "ok",
} as const;
const PROJECT_MEMBERS = { ...PROJECT_ANY, ownProjectToken: "FORBIDDEN" } as const;
const PROJECT_ADMINS = { ...PROJECT_MEMBERS, member: "FORBIDDEN" } as const;
const SYSTEM_ADMINS = { ...USERS_ONLY, systemAdmin: "ok", default: "FORBIDDEN" } as const;

const p = (w: World) => ({ organizationSlug: w.org, projectSlug: w.project });

const MATRIX: Row[] = [
  { procedure: "user.me", call: (api) => api.user.me.query(), expect: { default: "ok" } },
  { procedure: "user.authConfig", call: (api) => api.user.authConfig.query(), expect: { default: "ok" } },
  {
    procedure: "user.organizations",
    call: (api) => api.user.organizations.query(),
    expect: { ...USERS_ONLY, default: "ok" },
  },
  {
    procedure: "user.update",
    call: (api) => api.user.update.mutate({ name: "Renamed" }),
    expect: { ...USERS_ONLY, default: "ok" },
  },
  {
    procedure: "organization.create",
    call: (api) => api.organization.create.mutate({ name: "New Org" }),
    expect: { ...USERS_ONLY, default: "ok" },
  },
  {
    procedure: "organization.bySlug",
    call: (api, w) => api.organization.bySlug.query({ organizationSlug: w.org }),
    expect: ORG_MEMBERS,
  },
  {
    procedure: "organization.members",
    call: (api, w) => api.organization.members.query({ organizationSlug: w.org }),
    expect: ORG_MEMBERS,
  },
  {
    procedure: "organization.machines",
    call: (api, w) => api.organization.machines.query({ organizationSlug: w.org }),
    expect: ORG_MEMBERS,
  },
  {
    procedure: "organization.update",
    call: (api, w) => api.organization.update.mutate({ organizationSlug: w.org, name: "Renamed Org" }),
    expect: ORG_ADMINS,
  },
  {
    procedure: "organization.delete",
    fresh: true,
    call: (api, w) => api.organization.delete.mutate({ organizationSlug: w.org }),
    expect: { ...ORG_ADMINS, admin: "FORBIDDEN" },
  },
  {
    procedure: "organization.addMember",
    fresh: true,
    call: (api, w) =>
      api.organization.addMember.mutate({ organizationSlug: w.org, email: "newbie@example.com", role: "member" }),
    expect: ORG_ADMINS,
  },
  {
    procedure: "organization.updateMemberRole",
    fresh: true,
    call: (api, w) =>
      api.organization.updateMemberRole.mutate({ organizationSlug: w.org, userId: w.memberUserId, role: "admin" }),
    expect: ORG_ADMINS,
  },
  {
    procedure: "organization.removeMember",
    fresh: true,
    call: (api, w) => api.organization.removeMember.mutate({ organizationSlug: w.org, userId: w.memberUserId }),
    // A member may remove themselves (leave); the matrix's "member" caller is that very member.
    expect: { ...ORG_MEMBERS },
  },
  {
    procedure: "project.list",
    call: (api, w) => api.project.list.query({ organizationSlug: w.org }),
    expect: ORG_MEMBERS,
  },
  { procedure: "project.bySlug", call: (api, w) => api.project.bySlug.query(p(w)), expect: PROJECT_ANY },
  { procedure: "project.machines", call: (api, w) => api.project.machines.query(p(w)), expect: PROJECT_ANY },
  {
    procedure: "project.create",
    call: (api, w) => api.project.create.mutate({ organizationSlug: w.org, name: "Another" }),
    expect: ORG_ADMINS,
  },
  {
    procedure: "project.update",
    call: (api, w) => api.project.update.mutate({ ...p(w), name: "Renamed" }),
    expect: PROJECT_ADMINS,
  },
  { procedure: "project.warmPool", call: (api, w) => api.project.warmPool.query(p(w)), expect: PROJECT_ANY },
  {
    procedure: "project.setWarmPoolSize",
    call: (api, w) => api.project.setWarmPoolSize.mutate({ ...p(w), size: 0 }),
    expect: PROJECT_ADMINS,
  },
  {
    procedure: "project.delete",
    fresh: true,
    call: (api, w) => api.project.delete.mutate(p(w)),
    expect: PROJECT_ADMINS,
  },
  {
    procedure: "machine.list",
    call: (api, w) => api.machine.list.query({ ...p(w), includeArchived: true }),
    expect: PROJECT_ANY,
  },
  { procedure: "machine.counts", call: (api, w) => api.machine.counts.query(p(w)), expect: PROJECT_ANY },
  { procedure: "envVar.list", call: (api, w) => api.envVar.list.query(p(w)), expect: PROJECT_ANY },
  {
    procedure: "envVar.set",
    call: (api, w) => api.envVar.set.mutate({ ...p(w), key: "MATRIX_KEY", value: "v" }),
    expect: PROJECT_ANY,
  },
  {
    procedure: "envVar.delete",
    fresh: true,
    call: (api, w) => api.envVar.delete.mutate({ ...p(w), id: w.envVarId }),
    expect: PROJECT_ANY,
  },
  { procedure: "accessToken.list", call: (api, w) => api.accessToken.list.query(p(w)), expect: PROJECT_ANY },
  {
    procedure: "accessToken.create",
    call: (api, w) => api.accessToken.create.mutate({ ...p(w), name: "ci" }),
    expect: PROJECT_MEMBERS,
  },
  {
    procedure: "accessToken.revoke",
    fresh: true,
    call: (api, w) => api.accessToken.revoke.mutate({ ...p(w), id: w.tokenId }),
    expect: PROJECT_MEMBERS,
  },
  { procedure: "admin.users", call: (api) => api.admin.users.query(), expect: SYSTEM_ADMINS },
  { procedure: "admin.warmPool", call: (api) => api.admin.warmPool.query(), expect: SYSTEM_ADMINS },
  { procedure: "admin.organizations", call: (api) => api.admin.organizations.query(), expect: SYSTEM_ADMINS },
];

async function outcomeOf(promise: Promise<unknown>): Promise<Outcome | string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (error instanceof TRPCClientError) return String((error.data as { code?: string } | undefined)?.code);
    throw error;
  }
}

const databases = [
  { name: "PGlite", database: "pglite" as const, enabled: true },
  { name: "PostgreSQL", database: "postgres" as const, enabled: Boolean(process.env.DATABASE_URL_TEST) },
];

for (const target of databases) {
  describe.skipIf(!target.enabled)(`authorization matrix on ${target.name}`, () => {
    let t: TestOs2;
    const apis = {} as Record<Caller, Api>;
    const userIds = {} as Record<string, string>;
    let worldCount = 0;
    let otherToken = "";

    async function newWorld(): Promise<World & { ownToken: string }> {
      worldCount += 1;
      const owner = apis.owner;
      const org = await owner.organization.create.mutate({ name: `Acme ${worldCount}` });
      const project = await owner.project.create.mutate({ organizationSlug: org.slug, name: "Alpha" });
      await owner.organization.addMember.mutate({
        organizationSlug: org.slug,
        email: "admin+test@example.com",
        role: "admin",
      });
      const member = await owner.organization.addMember.mutate({
        organizationSlug: org.slug,
        email: "member+test@example.com",
        role: "member",
      });
      const w = { org: org.slug, project: project.slug };
      const envVar = await owner.envVar.set.mutate({ ...p({ ...w } as World), key: "EXISTING", value: "x" });
      const token = await owner.accessToken.create.mutate({ ...p({ ...w } as World), name: "own" });
      return { ...w, memberUserId: member.userId, envVarId: envVar.id, tokenId: token.id, ownToken: token.token };
    }

    let shared: World & { ownToken: string };

    beforeAll(async () => {
      t = await createTestOs2({ database: target.database, env: { OS2_ADMIN_EMAILS: "root+test@example.com" } });
      for (const [caller, email] of [
        ["owner", "owner+test@example.com"],
        ["admin", "admin+test@example.com"],
        ["member", "member+test@example.com"],
        ["outsider", "outsider+test@example.com"],
        ["systemAdmin", "root+test@example.com"],
      ] as const) {
        const cookie = await t.signIn(email);
        apis[caller] = t.client({ cookie });
        userIds[caller] = (await apis[caller].user.me.query())?.id ?? "";
      }
      apis.anonymous = t.client();
      const outsiderOrg = await apis.outsider.organization.create.mutate({ name: "Elsewhere" });
      const outsiderProject = await apis.outsider.project.create.mutate({
        organizationSlug: outsiderOrg.slug,
        name: "Beta",
      });
      otherToken = (
        await apis.outsider.accessToken.create.mutate({
          organizationSlug: outsiderOrg.slug,
          projectSlug: outsiderProject.slug,
          name: "other",
        })
      ).token;
      apis.otherProjectToken = t.client({ bearer: otherToken });
      shared = await newWorld();
      apis.ownProjectToken = t.client({ bearer: shared.ownToken });
    });
    afterAll(async () => t?.close());

    for (const row of MATRIX) {
      it(`${row.procedure} allows exactly the expected callers`, async () => {
        const results: Record<string, string> = {};
        const expected: Record<string, string> = {};
        for (const caller of CALLERS) {
          const world = row.fresh ? await newWorld() : shared;
          const api = caller === "ownProjectToken" ? t.client({ bearer: world.ownToken }) : apis[caller];
          results[caller] = await outcomeOf(row.call(api, world));
          expected[caller] = row.expect[caller] ?? row.expect.default;
        }
        expect(results).toEqual(expected);
      });
    }
  });
}
