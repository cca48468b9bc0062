/** The `pnpm snapshot:daytona` script's parts that need no Daytona: paths, .dockerignore, missing key. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";

import { Image } from "@daytonaio/sdk";
import { describe, expect, it } from "vitest";

import { dockerignoreMatcher, REPO_ROOT, SANDBOX_DOCKERFILE, stageBuildContext } from "../../sandbox/daytona-snapshot";

const TSX = join(REPO_ROOT, "apps/os2/node_modules/.bin/tsx");

describe("daytona-snapshot script", () => {
  it("finds the repo root and the sandbox Dockerfile from its own location", () => {
    expect(existsSync(join(REPO_ROOT, "pnpm-workspace.yaml"))).toBe(true);
    expect(SANDBOX_DOCKERFILE).toBe(join(REPO_ROOT, "apps/os2/sandbox/Dockerfile"));
  });

  it.each([
    ["the repo root", REPO_ROOT, "apps/os2/sandbox/daytona-snapshot.ts"],
    ["apps/os2", join(REPO_ROOT, "apps/os2"), "sandbox/daytona-snapshot.ts"],
  ])("stops at once with a clear message when DAYTONA_API_KEY is missing (run from %s)", (_where, cwd, script) => {
    // An empty value also shadows any key in a local .env file (dotenv never overrides set variables).
    const result = spawnSync(TSX, [script], {
      cwd,
      env: { ...process.env, DAYTONA_API_KEY: "", APP_STAGE: "stg" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("DAYTONA_API_KEY is not set");
  });

  it("applies the repo's .dockerignore rules", () => {
    const ignored = dockerignoreMatcher(
      "# c\n**/node_modules\n.git\n.env.*\napps/os2/backend\n**/*.test.ts\n!keep.test.ts\n",
    );
    expect(ignored("node_modules")).toBe(true);
    expect(ignored("apps/daemon/node_modules/hono/index.js")).toBe(true);
    expect(ignored(".git/HEAD")).toBe(true);
    expect(ignored(".env.local")).toBe(true);
    expect(ignored(".env")).toBe(false);
    expect(ignored("apps/os2/backend/entry.ts")).toBe(true);
    expect(ignored("apps/os2/sandbox/entry.sh")).toBe(false);
    expect(ignored("apps/daemon/src/x.test.ts")).toBe(true);
    expect(ignored("keep.test.ts")).toBe(false);
    expect(ignored("apps/daemon/src/server.ts")).toBe(false);
  });

  it("stages the real sandbox Dockerfile so the SDK uploads its COPY sources from the repo root, without node_modules", async () => {
    const staged = await stageBuildContext(REPO_ROOT, SANDBOX_DOCKERFILE);
    try {
      const archivePaths = Image.fromDockerfile(join(staged, "Dockerfile")).contextList.map(
        (context) => context.archivePath,
      );
      expect(archivePaths).toEqual(
        expect.arrayContaining(["package.json", "pnpm-lock.yaml", "apps/daemon/", "packages/protocol/"]),
      );
      for (const path of archivePaths) expect(existsSync(join(staged, path))).toBe(true);
      expect(existsSync(join(staged, "apps/daemon/src"))).toBe(true);
      expect(existsSync(join(staged, "apps/daemon/node_modules"))).toBe(false);
      expect(existsSync(join(staged, ".git"))).toBe(false);
    } finally {
      await rm(staged, { recursive: true, force: true });
    }
  });
});
