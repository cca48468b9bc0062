import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/os2.js");
const home = fs.mkdtempSync(path.join(os.tmpdir(), "os2-cli-home-"));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

/** The real CLI process, logged out (an empty config dir) and without the caller's OS2_* variables. */
function run(args: string[], env: Record<string, string> = {}) {
  const { OS2_URL: _u, OS2_TOKEN: _t, ...rest } = process.env;
  return spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { ...rest, XDG_CONFIG_HOME: home, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 20_000,
  });
}

describe("the os2 process", () => {
  it("exits 0 with help that carries examples, for the root and nested commands", () => {
    for (const args of [["--help"], ["machines", "create", "--help"], ["exec", "--help"], ["shell", "--help"]]) {
      const result = run(args);
      expect(result.status, args.join(" ")).toBe(0);
      expect(result.stdout).toContain("Examples:");
    }
    expect(run(["shell", "--help"]).stdout).toContain("Ctrl-\\");
  });

  it("exits 2 on usage errors: unknown commands, bad option values, missing arguments", () => {
    expect(run(["bogus"]).status).toBe(2);
    expect(run(["machines", "create", "--cpus", "lots"]).status).toBe(2);
    expect(run(["exec"]).status).toBe(2);
    expect(run(["cp", "a", "b"], { OS2_URL: "http://127.0.0.1:9", OS2_TOKEN: "pat_x" }).status).toBe(2);
  });

  it("exits 1 with a hint when not logged in, and 1 naming the server when it cannot be reached", () => {
    const loggedOut = run(["machines", "ls"]);
    expect(loggedOut.status).toBe(1);
    expect(loggedOut.stderr).toContain("os2 login");
    // Port 9 (discard) has no listener here: a network error, retried, then reported.
    const unreachable = run(["machines", "get", "x"], { OS2_URL: "http://127.0.0.1:9", OS2_TOKEN: "pat_x" });
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toContain("127.0.0.1:9");
  });
});
