import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { preflight } from "./credentials";

describe("preflight", () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "os2-credentials-"));
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  it("finds Claude Code ready with any of its key variables, and not with an empty one", async () => {
    for (const key of [
      "ANTHROPIC_API_KEY",
      "CLAUDE_CODE_OAUTH_TOKEN",
      "ANTHROPIC_AUTH_TOKEN",
      "CLAUDE_CODE_USE_BEDROCK",
    ])
      expect((await preflight("claude-code", { [key]: "x" }, home)).ready).toBe(true);
    const empty = await preflight("claude-code", { ANTHROPIC_API_KEY: "  " }, home);
    expect(empty).toMatchObject({
      ready: false,
      missing: ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"],
    });
  });

  it("finds Claude Code ready after a login made inside the machine", async () => {
    await writeFile(join(home, ".claude.json"), JSON.stringify({ theme: "dark" }));
    expect((await preflight("claude-code", {}, home)).ready).toBe(false);
    await mkdir(join(home, ".claude"), { recursive: true });
    await writeFile(join(home, ".claude", ".credentials.json"), "{}");
    expect((await preflight("claude-code", {}, home)).ready).toBe(true);
  });

  it("does not check harnesses without a single requirement", async () => {
    expect(await preflight("opencode", {}, undefined)).toEqual({
      harness: "opencode",
      ready: true,
      missing: [],
      message: null,
    });
    expect((await preflight("shell", {}, undefined)).ready).toBe(true);
  });
});
