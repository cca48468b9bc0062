/**
 * When a request may be sent again. Only requests whose repetition cannot do anything twice are retried:
 * reads, puts of the same content, lifecycle calls that name a target state (start, stop, archive,
 * unarchive), deletes, and a machine create that carries an idempotency key.
 */
export type RetryPolicy = {
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
};

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 4_000 };

/** How an attempt ended: no answer at all, or an HTTP status. */
export type AttemptOutcome = { kind: "network" } | { kind: "status"; status: number };

export function shouldRetry(
  policy: RetryPolicy,
  attempt: number,
  outcome: AttemptOutcome,
  idempotent: boolean,
): boolean {
  if (!idempotent || attempt >= policy.attempts) return false;
  // A 503 is the server saying it is briefly unable (database or provider away); other statuses are
  // answers, and repeating them would answer the same.
  return outcome.kind === "network" || outcome.status === 503;
}

/**
 * Exponential backoff with jitter, so many clients that failed together do not come back together.
 * `attempt` is the attempt that just failed (1-based). A server's `Retry-After` (seconds) wins when given,
 * capped by `maxDelayMs`.
 */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0) {
    return Math.min(retryAfterSeconds * 1000, policy.maxDelayMs);
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}
