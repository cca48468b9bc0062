/**
 * `os2 machines ls` pages through every machine: the real CLI process against a real os2 on a loopback
 * port (embedded database; the machines are rows, so no Docker), with more machines than one page holds.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { machine as machineTable } from "../../../apps/os2/backend/db/schema/machine.ts";
import { newId } from "../../../apps/os2/backend/ids.ts";
import { createTestOs2, type TestOs2 } from "../../../apps/os2/backend/testing/harness.ts";
import { setUpProject } from "../../../apps/os2/backend/testing/machine-fixtures.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/os2.js");
const home = fs.mkdtempSync(path.join(os.tmpdir(), "os2-cli-ls-"));
/** More than the largest page (200), so `ls` needs several. */
const ACTIVE = 230;
const ARCHIVED = 15;

describe("os2 machines ls", () => {
  let t: TestOs2;
  let env: Record<string, string>;

  /** The CLI as a separate process; asynchronous, so this process's server keeps answering it. */
  const run = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      child.once("error", reject);
      child.once("close", (status) => resolve({ status, stdout, stderr }));
    });

  beforeAll(async () => {
    t = await createTestOs2();
    const fx = await setUpProject(t, "cli-ls+test@example.com");
    const { token } = await fx.api.accessToken.create.mutate({ ...fx.scope, name: "cli-ls" });
    const row = (index: number, archived: boolean) => ({
      id: newId("machine"),
      projectId: fx.project.id,
      name: `${archived ? "archived" : "ls"}-${String(index).padStart(4, "0")}`,
      type: "local-docker" as const,
      desiredState: archived ? ("archived" as const) : ("stopped" as const),
      observedState: archived ? ("archived" as const) : ("stopped" as const),
      authTokenEncrypted: t.os2.deps.encryptor.encrypt("secret"),
    });
    await t.os2.database.db
      .insert(machineTable)
      .values([
        ...Array.from({ length: ACTIVE }, (_, index) => row(index, false)),
        ...Array.from({ length: ARCHIVED }, (_, index) => row(index, true)),
      ]);
    const { OS2_URL: _u, OS2_TOKEN: _t, ...rest } = process.env as Record<string, string>;
    env = { ...rest, XDG_CONFIG_HOME: home, OS2_URL: await t.listen(), OS2_TOKEN: token };
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it("lists every machine across pages, as JSON and as a table; --all adds the archived ones", async () => {
    const json = await run(["machines", "ls", "--json"]);
    expect(json.status, json.stderr).toBe(0);
    const names = (JSON.parse(json.stdout) as { name: string }[]).map((machine) => machine.name);
    expect(names).toHaveLength(ACTIVE);
    expect(new Set(names).size).toBe(ACTIVE);
    expect(names.every((name) => name.startsWith("ls-"))).toBe(true);

    const table = await run(["machines", "ls"]);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout.match(/\bls-\d{4}\b/g)).toHaveLength(ACTIVE);

    const all = await run(["machines", "ls", "--all", "--json"]);
    expect(all.status, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout)).toHaveLength(ACTIVE + ARCHIVED);
  });
});
