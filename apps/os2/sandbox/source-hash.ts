import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

/** The image label holding the hash; `pnpm dev` compares it with `computeSandboxSourceHash()`. */
export const SANDBOX_SOURCE_HASH_LABEL = "os2-sandbox.source-hash";

// What goes into the image. The lockfile is left out on purpose: it changes with every control-plane
// dependency, and the daemon's own versions are pinned by its package.json ranges closely enough that
// "sources changed, rebuild" would be noise.
const INPUT_DIRS = ["apps/os2/sandbox", "apps/daemon", "packages/protocol"];
const INPUT_FILES = [".dockerignore"];
const SKIPPED_DIRS = new Set(["node_modules", "dist", ".data", ".tmp"]);
const isSkippedFile = (name: string) => name.endsWith(".test.ts") || name.endsWith(".crt") || name.endsWith(".log");

/** sha256 over the paths and contents of every file that goes into the sandbox image. */
export async function computeSandboxSourceHash(repoRoot: string): Promise<string> {
  const files = [...INPUT_FILES.map((f) => join(repoRoot, f))];
  for (const dir of INPUT_DIRS) files.push(...(await listFiles(join(repoRoot, dir))));
  const hash = createHash("sha256");
  for (const file of files.sort()) {
    const content = await readFile(file).catch(() => undefined);
    if (content === undefined) continue;
    hash.update(relative(repoRoot, file)).update("\0").update(content).update("\0");
  }
  return hash.digest("hex");
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : listFiles(path);
      return entry.isFile() && !isSkippedFile(entry.name) ? [path] : [];
    }),
  );
  return nested.flat();
}
