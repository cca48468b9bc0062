/** A machine's row, the public shape of it (without the daemon credential), and error messages for events. */
import type { machine } from "../../db/schema/machine.ts";
import { isProviderError } from "../../providers/errors.ts";
import { DomainError } from "../errors.ts";

export type Machine = typeof machine.$inferSelect;
export type PublicMachine = Omit<Machine, "authTokenEncrypted">;

export function toPublicMachine(row: Machine): PublicMachine {
  const { authTokenEncrypted: _secret, ...rest } = row;
  return rest;
}

export function errorMessage(error: unknown): string {
  if (isProviderError(error) || error instanceof DomainError || error instanceof Error) return error.message;
  return String(error);
}

/**
 * Whether a running machine runs with an older environment than the current one: a project var or one of
 * its overrides changed after its daemon last took the environment (machines from before os2 recorded that
 * count from when they became ready). Only a start applies the new one, so the dashboard offers a restart.
 */
export function envPendingRestart(
  row: Pick<Machine, "observedState" | "envChangedAt" | "envAppliedAt" | "readyAt">,
  projectEnvChangedAt: Date | null,
): boolean {
  if (row.observedState !== "running") return false;
  const applied = row.envAppliedAt ?? row.readyAt;
  if (!applied) return false;
  const changed = Math.max(row.envChangedAt?.getTime() ?? 0, projectEnvChangedAt?.getTime() ?? 0);
  return changed > applied.getTime();
}
