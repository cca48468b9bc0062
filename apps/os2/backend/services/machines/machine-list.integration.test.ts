/**
 * The machine list, paged, through both APIs (tRPC as the dashboard calls it, /api/v1 with a project access
 * token), on PGlite and on PostgreSQL. The machines are rows only: listing reads the database, never a
 * provider. What it protects: a walk page by page sees every machine exactly once, even while machines are
 * created between pages and when many share one created_at (one insert statement shares its now()) or differ
 * by microseconds; a cursor works only in the project it came from; bad limits and cursors are a 400 naming
 * the field; no credential is in any answer; envPendingRestart reads the same in the list, byId and /api/v1.
 */
import { apiErrorSchema, apiMachineListSchema, apiMachineSchema } from "@os2/protocol";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { machine } from "../../db/schema/machine.ts";
import { project as projectTable } from "../../db/schema/project.ts";
import { newId } from "../../ids.ts";
import { createTestOs2, type TestOs2 } from "../../testing/harness.ts";
import { setUpProject } from "../../testing/machine-fixtures.ts";
import { encodeMachineCursor, MACHINE_LIST_DEFAULT_LIMIT, MACHINE_LIST_MAX_LIMIT } from "./machine-list.ts";

const TOKEN_PLAINTEXT = "list-test-daemon-token-7f3a";

const databases = [
  { name: "PGlite", database: "pglite" as const, enabled: true },
  { name: "PostgreSQL", database: "postgres" as const, enabled: Boolean(process.env.DATABASE_URL_TEST) },
];

for (const target of databases) {
  describe.skipIf(!target.enabled)(`machine list on ${target.name}`, () => {
    let t: TestOs2;
    let fx: Awaited<ReturnType<typeof setUpProject>>;
    let other: { id: string; slug: string; token: string };
    let token: string;
    let encryptedToken: string;
    let counter = 0;

    /** `count` machine rows in one statement (so they share one created_at); their ids, in insert order. */
    async function insertMachines(
      projectId: string,
      count: number,
      fields: Partial<typeof machine.$inferInsert> = {},
    ): Promise<string[]> {
      const rows = Array.from({ length: count }, () => {
        counter += 1;
        return {
          id: newId("machine"),
          projectId,
          name: `row-${String(counter).padStart(5, "0")}`,
          type: "local-docker" as const,
          desiredState: "stopped" as const,
          observedState: "stopped" as const,
          authTokenEncrypted: encryptedToken,
          metadata: { port: 1, snapshotName: "x" },
          ...fields,
        };
      });
      await t.os2.database.db.insert(machine).values(rows);
      return rows.map((row) => row.id);
    }

    const projectScope = () => fx.scope;
    const v1 = (path: string, bearer = token) =>
      t.fetch(`/api/v1${path}`, { headers: { authorization: `Bearer ${bearer}` } });

    /** Every id a walk with `limit` sees, calling `between` after each page. */
    async function walk(limit: number, between: () => Promise<void> = async () => {}, includeArchived = true) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { machines: { id: string }[]; nextCursor: string | null } = await fx.api.machine.list.query({
          ...projectScope(),
          includeArchived,
          limit,
          cursor,
        });
        expect(page.machines.length).toBeLessThanOrEqual(limit);
        seen.push(...page.machines.map((row) => row.id));
        cursor = page.nextCursor;
        pages += 1;
        if (pages > 1_000) throw new Error("the walk does not end");
        await between();
      } while (cursor);
      return seen;
    }

    beforeAll(async () => {
      // Rows are written behind os2's back here, so no page may come from the list cache (its own suite).
      t = await createTestOs2({ database: target.database, env: { OS2_MACHINE_LIST_CACHE_MS: "0" } });
      encryptedToken = t.os2.deps.encryptor.encrypt(TOKEN_PLAINTEXT);
      fx = await setUpProject(t, `list-${target.database}+test@example.com`);
      token = (await fx.api.accessToken.create.mutate({ ...fx.scope, name: "list" })).token;
      const otherProject = await fx.api.project.create.mutate({ organizationSlug: fx.org.slug, name: "Other" });
      other = {
        id: otherProject.id,
        slug: otherProject.slug,
        token: (
          await fx.api.accessToken.create.mutate({
            organizationSlug: fx.org.slug,
            projectSlug: otherProject.slug,
            name: "other",
          })
        ).token,
      };
      await insertMachines(other.id, 30);
    });
    afterAll(async () => t?.close());

    it("a walk page by page visits every machine exactly once, even while machines are created between pages", async () => {
      // Three statements of 40: each statement's rows share one created_at, so the id breaks the ties.
      const existing = [
        ...(await insertMachines(fx.project.id, 40)),
        ...(await insertMachines(fx.project.id, 40, { desiredState: "archived", observedState: "archived" })),
        ...(await insertMachines(fx.project.id, 40)),
      ];
      const created: string[] = [];
      const seen = await walk(7, async () => {
        created.push(...(await insertMachines(fx.project.id, 2)));
      });
      expect(new Set(seen).size).toBe(seen.length);
      // Every machine that existed when the walk began; the new ones sort before its cursor, so none of them.
      expect(seen.filter((id) => !created.includes(id)).sort()).toEqual([...existing].sort());
      // Newest first: the first page starts with the last statement's rows.
      const active = await walk(MACHINE_LIST_MAX_LIMIT, async () => {}, false);
      expect(active).not.toContain(existing[40]);
      expect(new Set(active)).toEqual(new Set([...existing.slice(0, 40), ...existing.slice(80), ...created]));
    });

    it("machines whose created_at differ only in microseconds are each listed once, page by page", async () => {
      const ids = await insertMachines(fx.project.id, 6);
      // One millisecond, six microseconds: a cursor holding milliseconds would repeat or skip these.
      for (const [index, id] of ids.entries()) {
        await t.os2.database.db
          .update(machine)
          .set({ createdAt: sql`timestamptz '2030-01-01 00:00:00.123000+00' + ${index} * interval '1 microsecond'` })
          .where(eq(machine.id, id));
      }
      const first = await fx.api.machine.list.query({ ...projectScope(), includeArchived: true, limit: 1 });
      const seen = [first.machines[0]?.id];
      let cursor = first.nextCursor;
      for (let index = 1; index < ids.length; index++) {
        const page = await fx.api.machine.list.query({ ...projectScope(), includeArchived: true, limit: 1, cursor });
        seen.push(page.machines[0]?.id);
        cursor = page.nextCursor;
      }
      expect(seen).toEqual([...ids].reverse());
    });

    it("the default page is 50 machines; a cursor from another project is a 400 on cursor and lists none of its machines", async () => {
      const page = await fx.api.machine.list.query({ ...projectScope(), includeArchived: true });
      expect(page.machines).toHaveLength(MACHINE_LIST_DEFAULT_LIMIT);
      expect(page.nextCursor).toEqual(expect.any(String));
      const cursor = page.nextCursor ?? "";

      // The same cursor in the other project (same member, so access is not what refuses it).
      const refused = await fx.api.machine.list
        .query({ organizationSlug: fx.org.slug, projectSlug: other.slug, cursor })
        .catch((error: unknown) => error as { data?: { code?: string; httpStatus?: number }; message: string });
      expect(refused).toMatchObject({ data: { code: "BAD_REQUEST", httpStatus: 400 } });
      expect((refused as { message: string }).message).toMatch(/^Invalid input: cursor: /);

      // Over /api/v1 with the other project's token: a 400 naming the field, never that project's rows.
      const response = await v1(`/machines?cursor=${cursor}`, other.token);
      expect(response.status).toBe(400);
      expect(apiErrorSchema.parse(await response.json())).toMatchObject({ error: "bad_request", field: "cursor" });

      // A cursor crafted for the other project, used with this project's token: refused too.
      const crafted = encodeMachineCursor({
        projectId: other.id,
        createdAt: "2999-01-01T00:00:00.000000Z",
        id: `mach_${"z".repeat(26)}`,
      });
      const craftedAnswer = await v1(`/machines?cursor=${crafted}`);
      expect(craftedAnswer.status).toBe(400);
      expect(apiErrorSchema.parse(await craftedAnswer.json())).toMatchObject({ field: "cursor" });

      // And its own token still walks only its own 30.
      const own = apiMachineListSchema.parse(await (await v1("/machines?limit=200", other.token)).json());
      expect(own.machines).toHaveLength(30);
      expect(own.nextCursor).toBeNull();
    });

    it("limit outside 1 to 200 and a malformed cursor are a 400 naming the field, over tRPC and /api/v1", async () => {
      const trpcRefusal = async (input: Record<string, unknown>) =>
        fx.api.machine.list.query({ ...projectScope(), ...input }).then(
          () => "accepted",
          (error: unknown) => (error as { message: string }).message,
        );
      for (const limit of [0, -1, MACHINE_LIST_MAX_LIMIT + 1, 10_000, 1.5])
        expect(await trpcRefusal({ limit }), `limit ${limit}`).toMatch(/^Invalid input: limit: /);
      const validButForeign = encodeMachineCursor({
        projectId: other.id,
        createdAt: "2030-01-01T00:00:00.000000Z",
        id: `mach_${"0".repeat(26)}`,
      });
      for (const cursor of [
        "garbage",
        "",
        "!!!!",
        "x".repeat(10_000),
        Buffer.from("m2 a b c").toString("base64url"),
        `${validButForeign}x`,
      ])
        expect(await trpcRefusal({ cursor }), `cursor ${cursor.slice(0, 20)}`).toMatch(/^Invalid input: cursor: /);

      for (const [query, field] of [
        ["limit=0", "limit"],
        ["limit=201", "limit"],
        ["limit=10000", "limit"],
        ["limit=-5", "limit"],
        ["limit=abc", "limit"],
        ["limit=1.5", "limit"],
        ["cursor=garbage", "cursor"],
        [`cursor=${"A".repeat(5_000)}`, "cursor"],
      ] as const) {
        const response = await v1(`/machines?${query}`);
        expect(response.status, query).toBe(400);
        expect(apiErrorSchema.parse(await response.json()), query).toMatchObject({ error: "bad_request", field });
      }
      const bounds = apiMachineListSchema.parse(await (await v1("/machines?limit=1")).json());
      expect(bounds.machines).toHaveLength(1);
    });

    it("no answer of the list or a machine carries its credential; list rows hold only what list views show", async () => {
      const [id] = await insertMachines(fx.project.id, 1);
      const bodies = [
        await (await v1("/machines?limit=200&includeArchived=true")).text(),
        await (await v1(`/machines/${id}`)).text(),
        await (
          await t.fetch(
            `/api/trpc/machine.list?input=${encodeURIComponent(JSON.stringify({ json: { ...projectScope(), includeArchived: true, limit: 200 } }))}`,
            { headers: { cookie: fx.cookie } },
          )
        ).text(),
        await (
          await t.fetch(
            `/api/trpc/machine.byId?input=${encodeURIComponent(JSON.stringify({ json: { ...projectScope(), machineId: id } }))}`,
            { headers: { cookie: fx.cookie } },
          )
        ).text(),
      ];
      for (const body of bodies) {
        expect(body).toContain(id);
        expect(body).not.toContain(encryptedToken);
        expect(body).not.toContain(TOKEN_PLAINTEXT);
        expect(body).not.toMatch(/authToken/i);
      }
      const page = await fx.api.machine.list.query({ ...projectScope(), includeArchived: true, limit: 1 });
      expect(Object.keys(page.machines[0] ?? {}).sort()).toEqual(
        [
          "createdAt",
          "cpuMillis",
          "desiredState",
          "diskMb",
          "envPendingRestart",
          "externalId",
          "id",
          "lastError",
          "memoryMb",
          "name",
          "observedState",
          "pids",
          "readyAt",
          "type",
        ].sort(),
      );
    });

    it("envPendingRestart reads the same in the list, byId and /api/v1: running machines that took an older env", async () => {
      const longAgo = new Date(Date.now() - 3_600_000);
      const [stale] = await insertMachines(fx.project.id, 1, {
        desiredState: "running",
        observedState: "running",
        readyAt: longAgo,
        envAppliedAt: longAgo,
      });
      // A project var changed after that machine took its env (envVar.set records when).
      await fx.api.envVar.set.mutate({ ...fx.scope, key: "CHANGED_LATER", value: "1" });
      const [fresh] = await insertMachines(fx.project.id, 1, {
        desiredState: "running",
        observedState: "running",
        readyAt: new Date(Date.now() + 60_000),
        envAppliedAt: new Date(Date.now() + 60_000),
      });
      const [stopped] = await insertMachines(fx.project.id, 1, { envAppliedAt: longAgo });
      const [changed] = await t.os2.database.db
        .select({ at: projectTable.envChangedAt })
        .from(projectTable)
        .where(eq(projectTable.id, fx.project.id));
      expect(changed?.at).toBeInstanceOf(Date);

      const listed = new Map<string, boolean>();
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof fx.api.machine.list.query>> = await fx.api.machine.list.query({
          ...projectScope(),
          includeArchived: true,
          limit: 200,
          cursor,
        });
        for (const row of page.machines) listed.set(row.id, row.envPendingRestart);
        cursor = page.nextCursor;
      } while (cursor);
      const apiListed = new Map<string, boolean>();
      let apiCursor: string | null = null;
      do {
        const page = apiMachineListSchema.parse(
          await (await v1(`/machines?includeArchived=true&limit=200${apiCursor ? `&cursor=${apiCursor}` : ""}`)).json(),
        );
        for (const row of page.machines) apiListed.set(row.id, row.envPendingRestart);
        apiCursor = page.nextCursor;
      } while (apiCursor);

      for (const [id, expected] of [
        [stale, true],
        [fresh, false],
        [stopped, false],
      ] as const) {
        const byId = await fx.api.machine.byId.query({ ...projectScope(), machineId: id ?? "" });
        const apiGet = apiMachineSchema.parse(await (await v1(`/machines/${id}`)).json());
        expect({
          list: listed.get(id ?? ""),
          byId: byId.envPendingRestart,
          v1List: apiListed.get(id ?? ""),
          v1Get: apiGet.envPendingRestart,
        }).toEqual({
          list: expected,
          byId: expected,
          v1List: expected,
          v1Get: expected,
        });
      }
    });

    it("counts the project's active, running and archived machines, none of another project's", async () => {
      const rows = await t.os2.database.db
        .select({ desiredState: machine.desiredState, observedState: machine.observedState })
        .from(machine)
        .where(eq(machine.projectId, fx.project.id));
      const archived = rows.filter((row) => row.desiredState === "archived").length;
      const running = rows.filter((row) => row.desiredState !== "archived" && row.observedState === "running").length;
      expect(await fx.api.machine.counts.query(projectScope())).toEqual({
        active: rows.length - archived,
        running,
        archived,
      });
      expect(await fx.api.machine.counts.query({ organizationSlug: fx.org.slug, projectSlug: other.slug })).toEqual({
        active: 30,
        running: 0,
        archived: 0,
      });
    });
  });
}
