import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { prepareWorkspace } from "./workspace-lockfile";

describe("prepareWorkspace", () => {
  let dir: string;
  let stateFile: string;
  // Stands in for `pnpm install`: records each run, so the test sees whether an install happened.
  const install = ["sh", "-c", "echo run >> installs.txt"];
  const installs = async () =>
    (await readFile(join(dir, "installs.txt"), "utf8").catch(() => "")).split("\n").filter(Boolean).length;
  const prepare = (installCommand = install) =>
    prepareWorkspace({ workspaceDir: dir, stateFile, installCommand, log: () => {} });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "os2-workspace-"));
    stateFile = join(dir, "state", "lock.sha256");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("installs once for a new lockfile and skips while it is unchanged", async () => {
    await writeFile(join(dir, "pnpm-lock.yaml"), "lockfileVersion: '9.0'\n");
    expect(await prepare()).toBe("installed");
    expect(await prepare()).toBe("unchanged");
    expect(await installs()).toBe(1);
  });

  it("installs again when the lockfile changes", async () => {
    await writeFile(join(dir, "pnpm-lock.yaml"), "a\n");
    await prepare();
    await writeFile(join(dir, "pnpm-lock.yaml"), "b\n");
    expect(await prepare()).toBe("installed");
    expect(await installs()).toBe(2);
  });

  it("does nothing without a lockfile, and then reports it unchanged", async () => {
    expect(await prepare()).toBe("no-lockfile");
    expect(await prepare()).toBe("unchanged");
    expect(await installs()).toBe(0);
  });

  it("does not record a failed install, so the next boot retries", async () => {
    await writeFile(join(dir, "pnpm-lock.yaml"), "a\n");
    expect(await prepare(["sh", "-c", "exit 1"])).toBe("install-failed");
    expect(await prepare()).toBe("installed");
  });
});
