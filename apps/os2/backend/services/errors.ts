/**
 * Errors services throw on purpose. One tRPC middleware maps them to codes (trpc/init.ts); anything else
 * is unexpected, logged with its stack and returned as a generic INTERNAL_SERVER_ERROR.
 */
export type DomainErrorKind = "not_found" | "conflict" | "precondition_failed" | "forbidden" | "bad_request";

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
