import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";

import { envApplyResponseSchema, execResultSchema } from "@os2/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { createTestDaemon, type TestDaemon } from "../test-support";

let daemon: TestDaemon;

beforeEach(async () => {
  daemon = await createTestDaemon();
});
afterEach(async () => {
  // The daemon writes the test process's own environment: leave none of it behind.
  await daemon.call("/api/env", { method: "PUT", json: { env: {} } });
  await daemon.cleanup();
});

async function execEnv(key: string): Promise<string> {
  const response = await daemon.call("/api/exec", {
    method: "POST",
    json: { command: "sh", args: ["-c", `printf %s "\${${key}-unset}"`] },
  });
  return execResultSchema.parse(await response.json()).stdout;
}

describe("PUT /api/env", () => {
  it("gives later exec'd processes the new variables and removes the ones the previous call set", async () => {
    const first = await daemon.call("/api/env", { method: "PUT", json: { env: { OS2_T_A: "one", OS2_T_B: "two" } } });
    expect(first.status).toBe(200);
    expect(await execEnv("OS2_T_A")).toBe("one");

    const second = await daemon.call("/api/env", { method: "PUT", json: { env: { OS2_T_A: "uno" } } });
    expect(envApplyResponseSchema.parse(await second.json())).toEqual({ keys: ["OS2_T_A"], removed: ["OS2_T_B"] });
    expect(await execEnv("OS2_T_A")).toBe("uno");
    expect(await execEnv("OS2_T_B")).toBe("unset");
  });

  it("keeps the environment in a file only its owner can read, and a restarted daemon starts with it", async () => {
    await daemon.call("/api/env", { method: "PUT", json: { env: { OS2_T_KEPT: "kept" } } });
    const file = await stat(join(daemon.config.stateDir, "env.json"));
    expect(file.mode & 0o077).toBe(0);
    delete process.env.OS2_T_KEPT; // as a new process would start: without it
    const restarted = daemon.restart();
    const response = await restarted.call("/api/exec", {
      method: "POST",
      json: { command: "sh", args: ["-c", 'printf %s "$OS2_T_KEPT"'] },
    });
    expect(execResultSchema.parse(await response.json()).stdout).toBe("kept");
  });

  it("gives tmux sessions created afterwards the new variables when a tmux server already runs", async () => {
    const make = (name: string, command: string) =>
      daemon.call("/api/tmux/sessions", { method: "POST", json: { name, command } });
    expect((await make("before", "sleep 60")).status).toBe(201);
    await daemon.call("/api/env", { method: "PUT", json: { env: { OS2_T_TMUX: "seen" } } });
    const out = join(daemon.config.workspaceDir, "tmux-env.txt");
    expect((await make("after", `printf %s "$OS2_T_TMUX" > ${out}; sleep 60`)).status).toBe(201);
    await expect.poll(() => readFile(out, "utf8").catch(() => ""), { timeout: 10_000 }).toBe("seen");
  });

  it("refuses a malformed environment with a 400 naming the field, and without the token with a 401", async () => {
    const bad = await daemon.call("/api/env", { method: "PUT", json: { env: { "1BAD": "x" } } });
    expect(bad.status).toBe(400);
    expect(String((await bad.json()).message)).toContain("env.1BAD");
    const nul = await daemon.call("/api/env", { method: "PUT", json: { env: { OK: "a\u0000b" } } });
    expect(nul.status).toBe(400);
    const anonymous = await daemon.call("/api/env", { method: "PUT", json: { env: {} }, auth: false });
    expect(anonymous.status).toBe(401);
  });
});
