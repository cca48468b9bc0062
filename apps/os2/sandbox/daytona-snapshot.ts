/**
 * `pnpm snapshot:daytona`: builds apps/os2/sandbox/Dockerfile on Daytona as snapshot
 * `<stage>--<YYYYMMDD-HHMMSS>` (UTC), streaming Daytona's build log, and prints the name once it is active.
 * From then on new `daytona` machines of this stage boot from it (the resolver picks the newest).
 *
 * Works from the repo root, from apps/os2, with `pnpm --filter os2`, and as
 * `doppler run --config dev -- tsx apps/os2/sandbox/daytona-snapshot.ts`: paths are resolved from this
 * file, never from the working directory; config comes from env (`.env` files fill what env lacks).
 *
 * Why a staged copy of the build context: `Image.fromDockerfile(path)` uses the Dockerfile's own directory
 * as the context and ignores `.dockerignore`, but this Dockerfile is written for the repo root with a
 * .dockerignore (no node_modules, .git, .env…). So the root is copied to a temp directory minus ignored
 * paths, the Dockerfile is placed at its top, and the SDK uploads each COPY source from there.
 */
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

import { Daytona, Image } from "@daytonaio/sdk";
import { config as loadDotenv } from "dotenv";

import { type Env, parseEnv } from "../backend/env";
import { computeStage } from "../backend/stage";
import { snapshotName } from "./snapshot-name";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, "../../..");
export const SANDBOX_DOCKERFILE = join(here, "Dockerfile");

export type BuildDaytonaSnapshotInput = {
  apiKey: string;
  apiUrl?: string;
  organizationId?: string;
  stage: string;
  dockerfilePath: string;
  /** The directory the Dockerfile's COPY sources are relative to; its .dockerignore applies. */
  contextDir: string;
  now?: Date;
  /** What every machine booted from this snapshot gets (Daytona takes resources per snapshot). */
  resources?: { cpu: number; memory: number; disk?: number };
  onLogs: (chunk: string) => void;
};

export async function buildDaytonaSnapshot(input: BuildDaytonaSnapshotInput): Promise<{ name: string }> {
  const name = snapshotName(input.stage, input.now ?? new Date());
  const staged = await stageBuildContext(input.contextDir, input.dockerfilePath);
  const daytona = new Daytona({
    apiKey: input.apiKey,
    ...(input.apiUrl ? { apiUrl: input.apiUrl } : {}),
    ...(input.organizationId ? { organizationId: input.organizationId } : {}),
    // Polling instead of socket.io: a script must exit when it is done (see reference/daytona-wire.md).
    useDeprecatedPolling: true,
  });
  try {
    input.onLogs(`Building Daytona snapshot ${name} from ${input.dockerfilePath}`);
    const image = Image.fromDockerfile(join(staged, "Dockerfile"));
    const snapshot = await daytona.snapshot.create(
      { name, image, ...(input.resources ? { resources: input.resources } : {}) },
      { onLogs: input.onLogs },
    );
    return { name: snapshot.name };
  } finally {
    await daytona[Symbol.asyncDispose]();
    await rm(staged, { recursive: true, force: true });
  }
}

/** Copies contextDir minus its .dockerignore'd paths to a temp dir, with the Dockerfile at the top. */
export async function stageBuildContext(contextDir: string, dockerfilePath: string): Promise<string> {
  const ignorePath = join(contextDir, ".dockerignore");
  const isIgnored = dockerignoreMatcher(existsSync(ignorePath) ? await readFile(ignorePath, "utf8") : "");
  const staged = await mkdtemp(join(tmpdir(), "os2-daytona-context-"));
  await cp(contextDir, staged, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (source) => {
      const path = relative(contextDir, source).split(sep).join("/");
      return path === "" || !isIgnored(path);
    },
  });
  await cp(dockerfilePath, join(staged, "Dockerfile"));
  return staged;
}

/**
 * The subset of .dockerignore syntax this repo uses: `*`, `?`, `**`, leading `!` exceptions, comments.
 * A path is ignored when it or one of its parent directories matches (the last matching rule wins).
 */
export function dockerignoreMatcher(content: string): (path: string) => boolean {
  const rules = content
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!");
      const pattern = (negated ? line.slice(1) : line).replace(/^\/+/, "").replace(/\/+$/, "");
      return { negated, regex: globToRegExp(pattern) };
    });
  return (path) => {
    const parts = path.split("/");
    let ignored = false;
    for (const rule of rules) {
      for (let end = 1; end <= parts.length; end++) {
        if (rule.regex.test(parts.slice(0, end).join("/"))) {
          ignored = !rule.negated;
          break;
        }
      }
    }
    return ignored;
  };
}

function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === "*" && pattern[i + 1] === "*") {
      const slashAfter = pattern[i + 2] === "/";
      source += slashAfter ? "(?:.*/)?" : ".*";
      i += slashAfter ? 2 : 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** The machine defaults (OS2_MACHINE_CPUS, _MEMORY, _DISK) in Daytona's units: whole cores and GiB. */
export function daytonaResources(env: Pick<Env, "OS2_MACHINE_CPUS" | "OS2_MACHINE_MEMORY" | "OS2_MACHINE_DISK">) {
  return {
    cpu: Math.max(1, Math.ceil(env.OS2_MACHINE_CPUS / 1000)),
    memory: Math.max(1, Math.ceil(env.OS2_MACHINE_MEMORY / 1024)),
    ...(env.OS2_MACHINE_DISK ? { disk: Math.ceil(env.OS2_MACHINE_DISK / 1024) } : {}),
  };
}

async function main(): Promise<void> {
  // Process env wins (doppler run sets it); .env files only fill gaps.
  for (const file of [join(REPO_ROOT, "apps/os2/.env"), join(REPO_ROOT, ".env")]) {
    if (existsSync(file)) loadDotenv({ path: file, quiet: true });
  }
  const apiKey = process.env.DAYTONA_API_KEY?.trim();
  if (!apiKey) {
    console.error(
      "DAYTONA_API_KEY is not set. Set it (in your environment, apps/os2/.env, or via `doppler run --config dev -- …`) " +
        "to build a Daytona snapshot.",
    );
    process.exit(1);
  }
  const stage = computeStage({ ITERATE_USER: process.env.ITERATE_USER, APP_STAGE: process.env.APP_STAGE });
  const apiUrl = process.env.DAYTONA_API_URL?.trim();
  const organizationId = process.env.DAYTONA_ORGANIZATION_ID?.trim();
  const { name } = await buildDaytonaSnapshot({
    resources: daytonaResources(parseEnv(process.env)),
    apiKey,
    ...(apiUrl ? { apiUrl } : {}),
    ...(organizationId ? { organizationId } : {}),
    stage,
    dockerfilePath: SANDBOX_DOCKERFILE,
    contextDir: REPO_ROOT,
    onLogs: (chunk) => console.log(chunk),
  });
  console.log(`Snapshot ${name} is active. New daytona machines of stage "${stage}" will boot from it.`);
  console.log(name);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
