/**
 * Errors services throw on purpose. The API layers map them to status codes in one place each (tRPC's
 * middleware in trpc/init.ts, the proxy's answers); anything else is unexpected, logged with its stack and
 * answered as a generic internal error.
 */
import { isProviderError, type ProviderErrorKind } from "../providers/errors.ts";
import { describeDatabaseError } from "./db-errors.ts";

export type DomainErrorKind =
  | "not_found"
  | "conflict"
  | "precondition_failed"
  | "forbidden"
  | "bad_request"
  | "unauthorized"
  | "timeout"
  | "rate_limited"
  | "quota_exceeded"
  /** A part os2 needs (Docker, Daytona) does not answer now; the same request may work later. */
  | "unavailable";

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "DomainError";
  }
}

export const notFound = (what: string) => new DomainError("not_found", `${what} not found`);

/** How a provider's failure reads to the API: its message is kept, since it says what to do. */
const PROVIDER_KINDS: Record<ProviderErrorKind, DomainErrorKind> = {
  not_found: "not_found",
  invalid_state: "precondition_failed",
  unavailable: "precondition_failed",
  unreachable: "unavailable",
  timeout: "timeout",
  rate_limited: "rate_limited",
};

/**
 * A domain error for anything services throw on purpose (their own errors and providers'), and for the
 * database errors a caller can provoke (a unique violation is a conflict naming what is taken, a value the
 * database cannot hold a bad request; see db-errors.ts); else null.
 */
export function asDomainError(error: unknown): DomainError | null {
  if (error instanceof DomainError) return error;
  if (isProviderError(error)) return new DomainError(PROVIDER_KINDS[error.kind], error.message, { cause: error });
  const database = describeDatabaseError(error);
  if (database) return new DomainError(database.kind, database.message, { cause: error });
  return null;
}
