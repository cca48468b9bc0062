/**
 * The one place where Daytona failures become os2's ProviderError kinds. The SDK already turns HTTP
 * answers into DaytonaError subclasses with a `statusCode` (its axios interceptor); the snapshot resolver's
 * direct REST calls build a DaytonaError from the status too, so both paths land here.
 */
import {
  DaytonaConnectionError,
  DaytonaConnectionTimeoutError,
  DaytonaError,
  DaytonaNotFoundError,
  DaytonaRateLimitError,
  DaytonaTimeoutError,
} from "@daytonaio/sdk";

import { ProviderError } from "../errors";

export function mapDaytonaError(error: unknown, action: string): unknown {
  if (error instanceof ProviderError) return error;
  if (isAbortError(error)) {
    return new ProviderError("timeout", `Daytona: ${action} was cancelled or timed out`, { cause: error });
  }
  if (!(error instanceof DaytonaError)) {
    // fetch() raises TypeError("fetch failed") when the host cannot be reached.
    if (error instanceof TypeError && /fetch failed/i.test(error.message)) {
      return new ProviderError(
        "unreachable",
        `Daytona API unreachable while trying to ${action}: ${causeText(error)}`,
        {
          cause: error,
        },
      );
    }
    // Anything else is a bug on our side: keep it as it is so it is logged with its stack.
    return error;
  }
  const message = `Daytona: ${action} failed: ${error.message}`;
  const status = error.statusCode;
  // Order matters: DaytonaConnectionTimeoutError extends DaytonaConnectionError.
  if (error instanceof DaytonaTimeoutError || error instanceof DaytonaConnectionTimeoutError) {
    return new ProviderError("timeout", message, { cause: error });
  }
  if (error instanceof DaytonaConnectionError) {
    return new ProviderError("unreachable", `Daytona API unreachable while trying to ${action}: ${error.message}`, {
      cause: error,
    });
  }
  if (error instanceof DaytonaNotFoundError || status === 404) {
    return new ProviderError("not_found", message, { cause: error });
  }
  if (error instanceof DaytonaRateLimitError || status === 429) {
    return new ProviderError("rate_limited", `${message} (Daytona rate limit; retry later)`, { cause: error });
  }
  // Daytona answers 400 ("Sandbox is not stopped", …) and 409 when the sandbox is in the wrong state.
  if (status === 400 || status === 409) return new ProviderError("invalid_state", message, { cause: error });
  if (status === 401 || status === 403) {
    return new ProviderError("unavailable", `${message}. Check DAYTONA_API_KEY (and DAYTONA_ORGANIZATION_ID).`, {
      cause: error,
    });
  }
  return new ProviderError("unavailable", message, { cause: error });
}

/** Throws the mapped error; for `catch (error) { throwDaytonaError(error, "...") }`. */
export function throwDaytonaError(error: unknown, action: string): never {
  throw mapDaytonaError(error, action);
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}

function causeText(error: Error): string {
  const cause: unknown = error.cause;
  if (cause instanceof Error) return cause.message;
  return error.message;
}
