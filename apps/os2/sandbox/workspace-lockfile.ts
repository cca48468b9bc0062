import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export type PrepareWorkspaceInput = {
  workspaceDir: string;
  /** Where the hash of the last installed lockfile is kept; the image build writes it, so a fresh boot matches. */
  stateFile: string;
  /** The install command, argv form; tests swap it. */
  installCommand?: string[];
  log?: (line: string) => void;
};

export type PrepareOutcome = "unchanged" | "installed" | "install-failed" | "no-lockfile";

/** sha256 of the workspace's pnpm lockfile, or "none" when there is none. */
export async function hashLockfile(workspaceDir: string): Promise<string> {
  const content = await readFile(join(workspaceDir, "pnpm-lock.yaml")).catch(() => undefined);
  return content ? createHash("sha256").update(content).digest("hex") : "none";
}

/**
 * Runs `pnpm install` in the workspace only when its lockfile differs from the one last installed, so the
 * boot of a freshly built image does no install at all. A failed install does not record the hash (the next
 * boot retries) and does not stop the boot: the daemon must come up so someone can see what went wrong.
 */
export async function prepareWorkspace(input: PrepareWorkspaceInput): Promise<PrepareOutcome> {
  const log = input.log ?? ((line) => console.log(`[entry] ${line}`));
  const current = await hashLockfile(input.workspaceDir);
  const previous = (await readFile(input.stateFile, "utf8").catch(() => "")).trim();
  if (current === previous) {
    log("workspace lockfile unchanged since the last install; skipping pnpm install");
    return "unchanged";
  }
  if (current !== "none") {
    const command = input.installCommand ?? ["pnpm", "install", "--frozen-lockfile", "--prefer-offline"];
    log(`workspace lockfile changed; running ${command.join(" ")} in ${input.workspaceDir}`);
    const code = await runInherited(command, input.workspaceDir);
    if (code !== 0) {
      log(`${command.join(" ")} exited with ${code}; continuing the boot, the next boot retries`);
      return "install-failed";
    }
  }
  await mkdir(dirname(input.stateFile), { recursive: true });
  await writeFile(input.stateFile, `${current}\n`);
  return current === "none" ? "no-lockfile" : "installed";
}

function runInherited(command: string[], cwd: string): Promise<number> {
  const [file, ...args] = command;
  if (!file) return Promise.resolve(1);
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd, stdio: "inherit" });
    child.on("error", () => resolve(127));
    child.on("close", (code) => resolve(code ?? 1));
  });
}
