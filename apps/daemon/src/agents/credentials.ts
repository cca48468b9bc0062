import { open } from "node:fs/promises";
import { join } from "node:path";

import type { AgentPreflightResponse, Harness } from "@os2/protocol";

/** Where a user sets a variable for every machine of a project: the project's "Env vars" tab. */
export const WHERE_TO_SET = "the project's Env vars tab (Project → Env vars), then restart the machine";

type Requirement = {
  label: string;
  /** Any one of these, non-empty, in the effective env is enough. Listed in the message, first first. */
  envAnyOf: string[];
  /** Also enough: a provider switch with its own credentials (Bedrock, Vertex). Not listed. */
  envAlternatives: string[];
  /** Also enough: a file under $HOME that the harness's own login writes (holding `marker`, when given). */
  files: { path: string; marker?: string }[];
  howToGet: string;
};

/**
 * What each harness needs before it can do anything. Claude Code takes an API key (`ANTHROPIC_API_KEY`), a
 * long-lived token from `claude setup-token` (`CLAUDE_CODE_OAUTH_TOKEN`), a bearer token for a gateway
 * (`ANTHROPIC_AUTH_TOKEN`), Bedrock or Vertex, or a login made inside the machine (`claude` → /login, which
 * writes ~/.claude/.credentials.json, or an API key saved in ~/.claude.json, or an apiKeyHelper). OpenCode
 * and Pi have no single requirement (OpenCode ships free models; both take many providers), so they are
 * not checked.
 */
const REQUIREMENTS: Partial<Record<Harness, Requirement>> = {
  "claude-code": {
    label: "Claude Code",
    envAnyOf: ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"],
    envAlternatives: ["CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"],
    files: [
      { path: ".claude/.credentials.json" },
      { path: ".claude.json", marker: '"primaryApiKey"' },
      { path: ".claude/settings.json", marker: '"apiKeyHelper"' },
    ],
    howToGet: "an API key from console.anthropic.com, or a token from `claude setup-token`",
  },
};

const MAX_MARKER_FILE_BYTES = 1024 * 1024;

/** Whether `path` exists and (when given) contains `marker` in its first MiB; any error is "no". */
async function fileHas(path: string, marker: string | undefined): Promise<boolean> {
  const handle = await open(path, "r").catch(() => undefined);
  if (!handle) return false;
  try {
    if (marker === undefined) return true;
    const buffer = Buffer.alloc(MAX_MARKER_FILE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString("utf8").includes(marker);
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}

/**
 * Checks the harness's credential in `env` (the daemon's own env, which holds the machine's, merged with
 * the agent's) and under `home`.
 */
export async function preflight(
  harness: Harness,
  env: Record<string, string | undefined>,
  home: string | undefined,
): Promise<AgentPreflightResponse> {
  const requirement = REQUIREMENTS[harness];
  if (!requirement) return { harness, ready: true, missing: [], message: null };
  const set = (key: string) => (env[key] ?? "").trim() !== "";
  if (requirement.envAnyOf.some(set) || requirement.envAlternatives.some(set))
    return { harness, ready: true, missing: [], message: null };
  if (home) {
    for (const file of requirement.files)
      if (await fileHas(join(home, file.path), file.marker))
        return { harness, ready: true, missing: [], message: null };
  }
  const [first, ...others] = requirement.envAnyOf;
  const names = others.length > 0 ? `${first} (or ${others.join(" or ")})` : (first ?? "");
  return {
    harness,
    ready: false,
    missing: requirement.envAnyOf,
    message: `${requirement.label} needs ${names} in the machine's environment, and none is set. Set it in ${WHERE_TO_SET}: ${requirement.howToGet}.`,
  };
}
