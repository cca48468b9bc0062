/**
 * The SDK's machine list against a real os2 (in process, embedded database; the machines are rows, so no
 * Docker): `list` answers one page and its cursor, `iterate` and `listAll` walk every page, and a walk sees
 * every machine that existed when it began exactly once while machines are created between pages.
 */
import { Os2 } from "@os2/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { machine as machineTable } from "../../../apps/os2/backend/db/schema/machine.ts";
import { newId } from "../../../apps/os2/backend/ids.ts";
import { createTestOs2, type TestOs2 } from "../../../apps/os2/backend/testing/harness.ts";
import { setUpProject } from "../../../apps/os2/backend/testing/machine-fixtures.ts";

describe("SDK machines.list, iterate and listAll", () => {
  let t: TestOs2;
  let os2: Os2;
  let projectId: string;
  let counter = 0;

  async function insertMachines(count: number): Promise<string[]> {
    const rows = Array.from({ length: count }, () => {
      counter += 1;
      return {
        id: newId("machine"),
        projectId,
        name: `sdk-row-${String(counter).padStart(4, "0")}`,
        type: "local-docker" as const,
        desiredState: "stopped" as const,
        observedState: "stopped" as const,
        authTokenEncrypted: t.os2.deps.encryptor.encrypt("secret"),
      };
    });
    await t.os2.database.db.insert(machineTable).values(rows);
    return rows.map((row) => row.id);
  }

  beforeAll(async () => {
    t = await createTestOs2();
    const fx = await setUpProject(t, "sdk-list+test@example.com");
    projectId = fx.project.id;
    const { token } = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "sdk-list" });
    os2 = new Os2({ baseUrl: "http://localhost:3001", token, fetch: (input, init) => t.fetch(input, init) });
  });
  afterAll(async () => t?.close());

  it("list answers one page and a cursor; iterate walks every machine once while more are created", async () => {
    const existing = [...(await insertMachines(60)), ...(await insertMachines(45))];
    const first = await os2.machines.list();
    expect(first.machines).toHaveLength(50);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await os2.machines.list({ limit: 200, cursor: first.nextCursor });
    expect(second.machines).toHaveLength(55);
    expect(second.nextCursor).toBeNull();

    const seen: string[] = [];
    const created: string[] = [];
    for await (const machine of os2.machines.iterate({ limit: 10 })) {
      seen.push(machine.id);
      // Once per page: new machines while the walk is under way.
      if (seen.length % 10 === 0) created.push(...(await insertMachines(1)));
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => !created.includes(id)).sort()).toEqual([...existing].sort());

    const all = await os2.machines.listAll({ limit: 200 });
    expect(all.map((machine) => machine.id).sort()).toEqual([...existing, ...created].sort());
  });

  it("a limit outside 1 to 200 is refused with the field named", async () => {
    const refused = await os2.machines.list({ limit: 0 }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: "bad_request", status: 400, field: "limit" });
  });
});
