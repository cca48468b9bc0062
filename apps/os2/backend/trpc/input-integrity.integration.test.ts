/**
 * Bad values and taken names are the caller's to fix, so they are 4xx answers that say what and how,
 * never 500s: control characters and NUL are refused at the schemas, an update with nothing to change is
 * a no-op, and a unique constraint (also when two requests race past the service's own check) is a 409
 * naming what is taken. Runs on PGlite and on a real PostgreSQL server (DATABASE_URL_TEST); the machine
 * cases run on PGlite with the real Docker Engine and remove what they create.
 */
import { TRPCClientError } from "@trpc/client";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";

import { user } from "../db/schema/auth.ts";
import { organization } from "../db/schema/organization.ts";
import { project as projectTable } from "../db/schema/project.ts";
import { projectAccessToken } from "../db/schema/project-access-token.ts";
import { projectEnvVar } from "../db/schema/project-env-var.ts";
import { newId } from "../ids.ts";
import { resolveEnvForMachine } from "../services/env-vars.ts";
import { asDomainError } from "../services/errors.ts";
import { renameUser } from "../services/users.ts";
import { createTestOs2, type TestOs2 } from "../testing/harness.ts";
import { containersOfStage, removeContainersOfStage } from "../testing/machine-fixtures.ts";

type Failure = { code: string; message: string; httpStatus: number };

async function errorOf(promise: Promise<unknown>): Promise<Failure> {
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

/** Each settled call as "ok" or its failure, for races where only the count of each matters. */
async function outcomes(calls: Array<Promise<unknown>>): Promise<Array<"ok" | Failure>> {
  return Promise.all(
    calls.map((call) =>
      call.then(
        () => "ok" as const,
        (error: unknown) => errorOf(Promise.reject(error)),
      ),
    ),
  );
}

/** The error a database call throws, as the tRPC middleware would answer it. */
async function mappedError(call: () => Promise<unknown>) {
  try {
    await call();
  } catch (error) {
    return asDomainError(error);
  }
  throw new Error("expected the database to refuse");
}

const databases = [
  { name: "PGlite", database: "pglite" as const, enabled: true },
  { name: "PostgreSQL", database: "postgres" as const, enabled: Boolean(process.env.DATABASE_URL_TEST) },
];

for (const target of databases) {
  describe.skipIf(!target.enabled)(`input integrity on ${target.name}`, () => {
    let t: TestOs2;
    let owner: ReturnType<TestOs2["client"]>;
    let org: { slug: string; id: string };
    let scope: { organizationSlug: string; projectSlug: string };
    let projectId: string;

    beforeAll(async () => {
      t = await createTestOs2({ database: target.database });
      owner = t.client({ cookie: await t.signIn("owner+test@example.com") });
      org = await owner.organization.create.mutate({ name: "Integrity" });
      const created = await owner.project.create.mutate({ organizationSlug: org.slug, name: "Alpha" });
      scope = { organizationSlug: org.slug, projectSlug: created.slug };
      projectId = created.id;
    });
    afterAll(async () => t?.close());

    describe("control characters", () => {
      it("refuses a NUL in an organization name with a 400 naming the field", async () => {
        const error = await errorOf(owner.organization.create.mutate({ name: "Ac\u0000me" }));
        expect(error).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
        expect(error.message).toMatch(/name: Must not contain control characters/);
      });

      it("refuses a NUL in a user name, an organization rename, a project name and a token name with a 400 naming the field", async () => {
        const calls: Array<[string, () => Promise<unknown>]> = [
          ["user.update", () => owner.user.update.mutate({ name: "Ada\u0000" })],
          [
            "organization.update",
            () => owner.organization.update.mutate({ organizationSlug: org.slug, name: "A\u0000" }),
          ],
          ["project.create", () => owner.project.create.mutate({ organizationSlug: org.slug, name: "\u0000" })],
          ["project.update", () => owner.project.update.mutate({ ...scope, name: "Al\u0000pha" })],
          ["accessToken.create", () => owner.accessToken.create.mutate({ ...scope, name: "c\u0000i" })],
        ];
        for (const [procedure, call] of calls) {
          const error = await errorOf(call());
          expect(error.httpStatus, procedure).toBe(400);
          expect(error.message, procedure).toMatch(/^Invalid input: name: Must not contain control characters$/);
        }
        expect((await owner.user.me.query())?.name).not.toContain("\u0000");
      });

      it("refuses other control characters in names, slugs, emails and env keys with a 400 naming the field", async () => {
        const calls: Array<[RegExp, () => Promise<unknown>]> = [
          [/name: Must not contain/, () => owner.organization.create.mutate({ name: "Bell\u0007Org" })],
          [/name: Must not contain/, () => owner.project.update.mutate({ ...scope, name: "Esc\u001b[31mRed" })],
          [/name: Must not contain/, () => owner.user.update.mutate({ name: "Tab\tbed" })],
          [/slug: Must not contain/, () => owner.organization.create.mutate({ name: "Ok", slug: "ok\u007f" })],
          [/newSlug: Must not contain/, () => owner.project.update.mutate({ ...scope, newSlug: "al\u0000pha" })],
          [
            /email: Must not contain/,
            () =>
              owner.organization.addMember.mutate({ organizationSlug: org.slug, email: "a\u0000+test@example.com" }),
          ],
          [/key: Must not contain/, () => owner.envVar.set.mutate({ ...scope, key: "API\u0000KEY", value: "v" })],
          [/organizationSlug: Must not contain/, () => owner.project.list.query({ organizationSlug: "ac\u0000me" })],
        ];
        for (const [message, call] of calls) {
          const error = await errorOf(call());
          expect(error.code, String(message)).toBe("BAD_REQUEST");
          expect(error.message).toMatch(message);
        }
      });

      it("trims a pasted line break around a name rather than refusing it", async () => {
        const renamed = await owner.user.update.mutate({ name: "  Ada Lovelace\n" });
        expect(renamed.name).toBe("Ada Lovelace");
      });

      it("keeps line breaks and tabs in an env value, and refuses a NUL in it with a 400 naming value", async () => {
        const pem = "-----BEGIN PRIVATE KEY-----\r\n\tMIIBVgIBADANBg\n-----END PRIVATE KEY-----\n";
        await owner.envVar.set.mutate({ ...scope, key: "DEPLOY_KEY", value: pem });
        const env = await resolveEnvForMachine(t.os2.database.db, t.os2.deps.encryptor, {
          projectId,
          machineId: "mach_none",
        });
        expect(env.DEPLOY_KEY).toBe(pem);
        const error = await errorOf(owner.envVar.set.mutate({ ...scope, key: "DEPLOY_KEY", value: "abc\u0000def" }));
        expect(error.httpStatus).toBe(400);
        expect(error.message).toMatch(/value: Must not contain NUL/);
        expect(
          (await resolveEnvForMachine(t.os2.database.db, t.os2.deps.encryptor, { projectId, machineId: "mach_none" }))
            .DEPLOY_KEY,
        ).toBe(pem);
      });

      it("refuses a key os2 sets itself (OS2_MACHINE_ID…) with a 400 naming it, and stores nothing", async () => {
        for (const key of ["OS2_MACHINE_ID", "OS2_PROJECT_ID", "OS2_STAGE", "MACHINE_AUTH_TOKEN"]) {
          const error = await errorOf(owner.envVar.set.mutate({ ...scope, key, value: "mine" }));
          expect(error).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
          expect(error.message).toContain(`key: ${key} is set by os2 on every machine`);
        }
        const keys = (await owner.envVar.list.query(scope)).map((row) => row.key);
        expect(keys.filter((key) => key.startsWith("OS2_") || key === "MACHINE_AUTH_TOKEN")).toEqual([]);
      });

      it("answers a value the database cannot hold with 400, not 500, behind the schemas", async () => {
        const me = await owner.user.me.query();
        const nul = await mappedError(() => renameUser(t.os2.database.db, me?.id ?? "", "Ada\u0000"));
        expect(nul?.kind).toBe("bad_request");
        expect(nul?.message).toMatch(/cannot store \(such as NUL\)/);
      });
    });

    describe("updates with nothing to change", () => {
      it("answers an organization update with nothing to change with the organization, unchanged", async () => {
        const before = await owner.organization.bySlug.query({ organizationSlug: org.slug });
        const updated = await owner.organization.update.mutate({ organizationSlug: org.slug });
        expect(updated).toMatchObject({ id: org.id, name: before.name, slug: before.slug });
      });

      it("answers a project update with nothing to change with the project, unchanged", async () => {
        const updated = await owner.project.update.mutate(scope);
        expect(updated).toMatchObject({ id: projectId, slug: scope.projectSlug, name: "Alpha" });
        const explicit = await owner.project.update.mutate({ ...scope, name: undefined, newSlug: undefined });
        expect(explicit).toMatchObject({ id: projectId, name: "Alpha" });
      });
    });

    describe("uniqueness", () => {
      it("answers a taken organization slug with 409 naming it, and a race of creates for one slug with one winner", async () => {
        const taken = await errorOf(owner.organization.create.mutate({ name: "Again", slug: org.slug }));
        expect(taken).toMatchObject({ code: "CONFLICT", httpStatus: 409 });
        expect(taken.message).toBe(`The organization slug "${org.slug}" is taken: choose another slug.`);

        const results = await outcomes(
          Array.from({ length: 4 }, () => owner.organization.create.mutate({ name: "Racer", slug: "racer" })),
        );
        expect(results.filter((result) => result === "ok")).toHaveLength(1);
        for (const result of results.filter((result) => result !== "ok")) {
          expect(result).toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/"racer" is taken/) });
        }
      });

      it("gives racing creates of one name their own derived slugs instead of a conflict", async () => {
        const orgs = await Promise.all(
          Array.from({ length: 4 }, () => owner.organization.create.mutate({ name: "Same Name" })),
        );
        expect(new Set(orgs.map((created) => created.slug)).size).toBe(4);
        const projects = await Promise.all(
          Array.from({ length: 4 }, () => owner.project.create.mutate({ organizationSlug: org.slug, name: "Twin" })),
        );
        expect(new Set(projects.map((created) => created.slug)).size).toBe(4);
      });

      it("answers a taken organization or project slug on update with 409 naming it", async () => {
        const other = await owner.organization.create.mutate({ name: "Other Org" });
        const orgClash = await errorOf(
          owner.organization.update.mutate({ organizationSlug: other.slug, slug: org.slug }),
        );
        expect(orgClash).toMatchObject({ code: "CONFLICT", httpStatus: 409 });
        expect(orgClash.message).toMatch(new RegExp(`"${org.slug}" is taken: choose another slug`));

        const beta = await owner.project.create.mutate({ organizationSlug: org.slug, name: "Beta" });
        const projectClash = await errorOf(
          owner.project.update.mutate({
            organizationSlug: org.slug,
            projectSlug: beta.slug,
            newSlug: scope.projectSlug,
          }),
        );
        expect(projectClash).toMatchObject({ code: "CONFLICT", httpStatus: 409 });
        expect(projectClash.message).toMatch(/is taken in this organization: choose another slug/);
      });

      it("turns a unique violation the service did not foresee into a 409 naming what is taken", async () => {
        const { db } = t.os2.database;
        const slug = await mappedError(() =>
          db.insert(organization).values({ id: newId("organization"), name: "Dup", slug: org.slug }),
        );
        expect(slug).toMatchObject({
          kind: "conflict",
          message: `The organization slug "${org.slug}" is taken: choose another slug.`,
        });

        const gamma = await owner.project.create.mutate({ organizationSlug: org.slug, name: "Gamma" });
        const projectSlug = await mappedError(() =>
          db.update(projectTable).set({ slug: scope.projectSlug }).where(eq(projectTable.id, gamma.id)),
        );
        expect(projectSlug).toMatchObject({
          kind: "conflict",
          message: `The project slug "${scope.projectSlug}" is taken in this organization: choose another slug.`,
        });

        const email = await mappedError(() =>
          db
            .insert(user)
            .values({ id: newId("user"), name: "Dup", email: "owner+test@example.com", emailVerified: false }),
        );
        expect(email).toMatchObject({
          kind: "conflict",
          message: expect.stringMatching(/owner\+test@example\.com already exists/),
        });

        const envKey = await mappedError(() =>
          db.insert(projectEnvVar).values({ id: newId("envVar"), projectId, key: "DEPLOY_KEY", valueEncrypted: "x" }),
        );
        expect(envKey).toMatchObject({
          kind: "conflict",
          message: "The variable DEPLOY_KEY is already set in this project: set it again to change its value.",
        });

        const token = await owner.accessToken.create.mutate({ ...scope, name: "ci" });
        const [stored] = await db
          .select({ tokenHash: projectAccessToken.tokenHash })
          .from(projectAccessToken)
          .where(eq(projectAccessToken.id, token.id));
        const tokenHash = await mappedError(() =>
          db
            .insert(projectAccessToken)
            .values({ id: newId("accessToken"), projectId, name: "dup", tokenHash: stored?.tokenHash ?? "" }),
        );
        expect(tokenHash).toMatchObject({ kind: "conflict", message: expect.stringMatching(/create the token again/) });
      });

      it("sets an existing env key again as an update, and a race of sets of one new key ends as one insert, the rest updates", async () => {
        const first = await owner.envVar.set.mutate({ ...scope, key: "ONCE", value: "1" });
        const again = await owner.envVar.set.mutate({ ...scope, key: "ONCE", value: "2" });
        expect(first.created).toBe(true);
        expect(again).toMatchObject({ id: first.id, created: false });

        const racing = await Promise.all(
          Array.from({ length: 5 }, (_, i) => owner.envVar.set.mutate({ ...scope, key: "RACED", value: `v${i}` })),
        );
        expect(racing.filter((result) => result.created)).toHaveLength(1);
        expect(new Set(racing.map((result) => result.id)).size).toBe(1);
        const listed = await owner.envVar.list.query(scope);
        expect(listed.filter((row) => row.key === "RACED")).toHaveLength(1);
      });

      it("adds one new address to several organizations at once, sharing one account, and answers adding someone twice at once with one 409 naming them", async () => {
        const orgs = await Promise.all(
          ["Share A", "Share B", "Share C"].map((name) => owner.organization.create.mutate({ name })),
        );
        const added = await Promise.all(
          orgs.map((o) =>
            owner.organization.addMember.mutate({ organizationSlug: o.slug, email: "Fresh+test@example.com" }),
          ),
        );
        expect(new Set(added.map((member) => member.userId)).size).toBe(1);

        const twice = await outcomes(
          Array.from({ length: 3 }, () =>
            owner.organization.addMember.mutate({ organizationSlug: org.slug, email: "twice+test@example.com" }),
          ),
        );
        expect(twice.filter((result) => result === "ok")).toHaveLength(1);
        for (const result of twice.filter((result) => result !== "ok")) {
          expect(result).toMatchObject({
            code: "CONFLICT",
            message: "twice+test@example.com is already a member of this organization.",
          });
        }
      });
    });
  });
}

describe("machine names on the real Docker Engine", () => {
  let t: TestOs2;
  let api: ReturnType<TestOs2["client"]>;
  let scope: { organizationSlug: string; projectSlug: string };
  let projectId: string;

  beforeAll(async () => {
    t = await createTestOs2();
    api = t.client({ cookie: await t.signIn("owner+test@example.com") });
    const org = await api.organization.create.mutate({ name: "Machines" });
    const created = await api.project.create.mutate({ organizationSlug: org.slug, name: "Names" });
    scope = { organizationSlug: org.slug, projectSlug: created.slug };
    projectId = created.id;
  });
  afterAll(async () => {
    const stage = t?.os2.deps.stage;
    if (t) {
      for (const machine of await api.machine.list
        .query({ ...scope, includeArchived: true })
        .then((page) => page.machines)
        .catch(() => [])) {
        await api.machine.delete.mutate({ ...scope, machineId: machine.id }).catch(() => undefined);
      }
      await t.os2.machines.settle();
      await t.close();
    }
    if (stage) await removeContainersOfStage(stage);
  });

  it("answers a duplicate machine name in one project with 409 naming the name, and a race of two creates with one 409", async () => {
    onTestFailed(() => console.error(`os2's log:\n${t.logLines.slice(-30).join("\n")}`));
    const first = await api.machine.create.mutate({ ...scope, name: "brave-otter", type: "local-docker" });
    const duplicate = await errorOf(api.machine.create.mutate({ ...scope, name: "brave-otter", type: "local-docker" }));
    expect(duplicate).toMatchObject({
      code: "CONFLICT",
      httpStatus: 409,
      message: "A machine named brave-otter already exists in this project: choose another name.",
    });

    const race = await outcomes([
      api.machine.create.mutate({ ...scope, name: "twin-otter", type: "local-docker" }),
      api.machine.create.mutate({ ...scope, name: "twin-otter", type: "local-docker" }),
    ]);
    expect(race.filter((result) => result === "ok")).toHaveLength(1);
    expect(race.find((result) => result !== "ok")).toMatchObject({
      code: "CONFLICT",
      message: "A machine named twin-otter already exists in this project: choose another name.",
    });

    // A machine's override of a key is unique per machine too: set twice is an update, never a duplicate.
    const override = await Promise.all(
      [1, 2, 3].map((i) => api.envVar.set.mutate({ ...scope, key: "ONLY_HERE", value: `${i}`, machineId: first.id })),
    );
    expect(new Set(override.map((result) => result.id)).size).toBe(1);
    const duplicateOverride = await mappedError(() =>
      t.os2.database.db
        .insert(projectEnvVar)
        .values({ id: newId("envVar"), projectId, machineId: first.id, key: "ONLY_HERE", valueEncrypted: "x" }),
    );
    expect(duplicateOverride).toMatchObject({
      kind: "conflict",
      message: "The variable ONLY_HERE is already set for this machine: set it again to change its value.",
    });
    expect((await containersOfStage(t.os2.deps.stage)).length).toBe(2);
  });
});
