/**
 * The small error set every provider maps vendor errors onto, in one function per adapter.
 * The tRPC layer maps these to codes: not_found → NOT_FOUND, invalid_state → PRECONDITION_FAILED,
 * unavailable (set up wrong: a missing image, a rejected key) → PRECONDITION_FAILED with the message,
 * unreachable (the engine or API does not answer; retry later) → SERVICE_UNAVAILABLE, timeout → TIMEOUT,
 * rate_limited → TOO_MANY_REQUESTS.
 */
export type ProviderErrorKind =
  "not_found" | "invalid_state" | "unavailable" | "unreachable" | "timeout" | "rate_limited";

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ProviderError";
  }
}

export function isProviderError(error: unknown, kind?: ProviderErrorKind): error is ProviderError {
  return error instanceof ProviderError && (kind === undefined || error.kind === kind);
}
