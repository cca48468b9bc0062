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
