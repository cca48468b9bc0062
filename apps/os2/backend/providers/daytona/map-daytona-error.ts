/**
 * The one place where Daytona failures become os2's ProviderError kinds. The SDK already turns HTTP
 * answers into DaytonaError subclasses with a `statusCode` (its axios interceptor); the snapshot resolver's
 * direct REST calls fail with a DaytonaHttpError carrying the status, so both paths land here.
 *
 * The SDK is imported only when a configured Daytona provider first needs it (daytona-provider.ts), so this
 * module must not import it: its errors are recognised by the class names on their prototype chain
 * (`DaytonaError` and the subclasses below), which subclass relations keep, as `instanceof` would.
 */
import { ProviderError } from "../errors";

/** A failed REST call os2 makes itself (the snapshot resolver), with the HTTP status Daytona answered. */
export class DaytonaHttpError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = "DaytonaHttpError";
  }
}

type DaytonaFailure = { message: string; statusCode: number | undefined; classes: Set<string> };

/** The SDK error's class names (own class first, up to DaytonaError) and status; undefined for anything else. */
function asDaytonaFailure(error: unknown): DaytonaFailure | undefined {
  if (error instanceof DaytonaHttpError) {
    return { message: error.message, statusCode: error.statusCode, classes: new Set() };
  }
  if (!(error instanceof Error)) return undefined;
  const classes = new Set<string>();
  for (
    let prototype: unknown = Object.getPrototypeOf(error);
    prototype && prototype !== Error.prototype;
    prototype = Object.getPrototypeOf(prototype)
  ) {
    const name: unknown = (prototype as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === "string") classes.add(name);
  }
  if (!classes.has("DaytonaError")) return undefined;
  const status: unknown = (error as { statusCode?: unknown }).statusCode;
  return { message: error.message, statusCode: typeof status === "number" ? status : undefined, classes };
}

/** Daytona answered that the thing is not there (the SDK's DaytonaNotFoundError or a 404). */
export function isDaytonaNotFound(error: unknown): boolean {
  const failure = asDaytonaFailure(error);
  return failure !== undefined && (failure.classes.has("DaytonaNotFoundError") || failure.statusCode === 404);
}

export function mapDaytonaError(error: unknown, action: string): unknown {
  if (error instanceof ProviderError) return error;
  if (isAbortError(error)) {
    return new ProviderError("timeout", `Daytona: ${action} was cancelled or timed out`, { cause: error });
  }
  const failure = asDaytonaFailure(error);
  if (!failure) {
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
  const message = `Daytona: ${action} failed: ${failure.message}`;
  const { statusCode: status, classes } = failure;
  // Order matters: DaytonaConnectionTimeoutError extends DaytonaConnectionError.
  if (classes.has("DaytonaTimeoutError") || classes.has("DaytonaConnectionTimeoutError")) {
    return new ProviderError("timeout", message, { cause: error });
  }
  if (classes.has("DaytonaConnectionError")) {
    return new ProviderError("unreachable", `Daytona API unreachable while trying to ${action}: ${failure.message}`, {
      cause: error,
    });
  }
  if (classes.has("DaytonaNotFoundError") || status === 404) {
    return new ProviderError("not_found", message, { cause: error });
  }
  if (classes.has("DaytonaRateLimitError") || status === 429) {
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
