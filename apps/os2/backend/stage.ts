/**
 * The stage names this deployment: `dev-${ITERATE_USER}` for a developer's machine, otherwise APP_STAGE
 * (`stg`, `prd`, `pr-123`, `local-…`). Snapshot names, the Daytona snapshot prefix and PostHog's
 * `$environment` all derive from it.
 */
export class StageError extends Error {
  override name = "StageError";
}

export type StageInput = { ITERATE_USER?: string | undefined; APP_STAGE?: string | undefined };

const STAGE_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

export function computeStage(input: StageInput): string {
  const user = input.ITERATE_USER?.trim();
  if (user && user !== "unknown") return validateStage(`dev-${user.toLowerCase()}`);
  const appStage = input.APP_STAGE?.trim();
  if (appStage) return validateStage(appStage);
  throw new StageError(
    "Cannot compute the stage: set ITERATE_USER (for dev-<user>) or APP_STAGE (e.g. stg, prd, pr-123, local-you).",
  );
}

function validateStage(stage: string): string {
  if (!STAGE_PATTERN.test(stage)) {
    throw new StageError(
      `Invalid stage "${stage}": use lowercase letters, digits and dashes (check ITERATE_USER / APP_STAGE).`,
    );
  }
  return stage;
}

/** The server runs with zero setup, so it falls back to `local-<os user>` where the snapshot script would stop. */
export function computeServerStage(input: StageInput, osUser: string): string {
  try {
    return computeStage(input);
  } catch (error) {
    if (!(error instanceof StageError) || input.ITERATE_USER?.trim() || input.APP_STAGE?.trim()) throw error;
    const safeUser =
      osUser
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "-")
        .replace(/^-+/, "") || "user";
    return `local-${safeUser}`;
  }
}

export function isDevPrefix(prefix: string): boolean {
  return prefix.startsWith("dev-") || prefix.startsWith("local-");
}
