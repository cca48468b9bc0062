/**
 * One error shape for `/api/v1` (@os2/protocol's apiErrorSchema: `{ error: code, message, field? }`), made
 * from whatever a handler met: a tRPC error from the procedure it called (its code, and the first input
 * issue's path as `field`), a domain error, or a database outage. Anything else is a logged 500.
 */
import type { ApiError, ApiErrorCode } from "@os2/protocol";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import type { ZodError } from "zod";

import type { Logger } from "../../logger.ts";
import { asDomainError } from "../../services/errors.ts";
import { DATABASE_OUTAGE_MESSAGE, isDatabaseOutage } from "../../services/outages.ts";
import { DOMAIN_ERROR_CODES } from "../../trpc/init.ts";

const TRPC_CODES: Partial<Record<TRPCError["code"], ApiErrorCode>> = {
  BAD_REQUEST: "bad_request",
  PARSE_ERROR: "bad_request",
  UNAUTHORIZED: "unauthorized",
  FORBIDDEN: "forbidden",
  NOT_FOUND: "not_found",
  CONFLICT: "conflict",
  PRECONDITION_FAILED: "precondition_failed",
  PAYLOAD_TOO_LARGE: "payload_too_large",
  TOO_MANY_REQUESTS: "rate_limited",
  TIMEOUT: "timeout",
  SERVICE_UNAVAILABLE: "unavailable",
  BAD_GATEWAY: "bad_gateway",
};

export type ApiFailure = { status: number; body: ApiError };

export function apiFailure(status: number, code: ApiErrorCode, message: string, field?: string): ApiFailure {
  return { status, body: { error: code, message, ...(field ? { field } : {}) } };
}

/** The zod issues behind a failed input, as `field: message` for the first and the field's dotted path. */
export function fromZodError(error: ZodError, prefix = ""): ApiFailure {
  const issue = error.issues[0];
  const field = [prefix, ...(issue?.path ?? []).map(String)].filter(Boolean).join(".");
  const message = issue ? `${field ? `${field}: ` : ""}${issue.message}` : "Invalid input";
  return apiFailure(400, "bad_request", message, field || undefined);
}

export function toApiFailure(error: unknown, log: Logger): ApiFailure {
  if (error instanceof TRPCError) {
    const cause = error.cause as ZodError | undefined;
    if (error.code === "BAD_REQUEST" && cause && Array.isArray((cause as { issues?: unknown }).issues)) {
      return fromZodError(cause);
    }
    const code = TRPC_CODES[error.code];
    if (code) return apiFailure(getHTTPStatusCodeFromError(error), code, error.message);
  }
  const domain = asDomainError(error);
  if (domain) {
    const trpc = new TRPCError({ code: DOMAIN_ERROR_CODES[domain.kind], message: domain.message });
    return apiFailure(getHTTPStatusCodeFromError(trpc), TRPC_CODES[trpc.code] ?? "internal", domain.message);
  }
  if (isDatabaseOutage(error)) return apiFailure(503, "unavailable", DATABASE_OUTAGE_MESSAGE);
  log.error("an API request failed", {
    stack: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
  return apiFailure(500, "internal", "Internal error; it has been logged.");
}
