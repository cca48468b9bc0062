/**
 * Faults that are not the caller's doing: the database or a machine provider cannot be reached. They are
 * answered 503 with a message naming the part, never 500, and never end the process; os2 keeps retrying
 * and recovers by itself once the part is back.
 */
const DATABASE_CONNECTION_CODES = new Set([
  // Node socket errors and postgres.js's own.
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  // PostgreSQL: shutting down, starting up, too many connections.
  "57P01",
  "57P02",
  "57P03",
  "53300",
]);

function* causes(error: unknown): Generator<Record<string, unknown>> {
  let current: unknown = error;
  for (let depth = 0; current && typeof current === "object" && depth < 8; depth += 1) {
    yield current as Record<string, unknown>;
    current = (current as { cause?: unknown }).cause;
  }
}

/** Whether this error means the database cannot be reached (as opposed to a bad query or bad input). */
export function isDatabaseOutage(error: unknown): boolean {
  for (const cause of causes(error)) {
    const code = typeof cause.code === "string" ? cause.code : undefined;
    // Class 08: connection exceptions.
    if (code && (DATABASE_CONNECTION_CODES.has(code) || code.startsWith("08"))) return true;
    const message = typeof cause.message === "string" ? cause.message : "";
    if (
      /connection (terminated|ended|closed)|write CONNECTION_CLOSED|Connection terminated unexpectedly/i.test(message)
    ) {
      return true;
    }
  }
  return false;
}

export const DATABASE_OUTAGE_MESSAGE =
  "The database is unreachable right now. os2 keeps retrying; try again in a moment (check DATABASE_URL and that PostgreSQL runs).";
