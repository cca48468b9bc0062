/**
 * Answers of the access service remembered for at most ACCESS_CACHE_MS: who a session cookie belongs to
 * (better-auth reads the session, then its user, and checks the cookie's HMAC: two queries), and whether a
 * caller may reach a project, with which role (a query joining organization, membership and project).
 * Together they were most of what a cheap call cost.
 *
 * The bound: this process forgets everything at once after its own changes (every auth endpoint but the
 * reads, every successful tRPC mutation), so sign-out, a rename, a removed member or a role change made here
 * hold from the next request; another os2 instance on the same PostgreSQL announces its own, and this one
 * forgets as soon as the notice arrives (access-peers.ts). What no notice covers (a row changed by something
 * else, a notice lost while the connection was down) shows within OS2_ACCESS_CACHE_MS (ACCESS_CACHE_MS by
 * default), the same bound as the doors' decisions (proxy/doors.ts). Access tokens are checked against the database on every request, so a
 * revoked token is refused at once everywhere.
 */
import { createHash } from "node:crypto";

/** How long an answer is reused. */
export const ACCESS_CACHE_MS = 2_000;
/** Beyond this many answers the oldest are forgotten first. */
const MAX_ENTRIES = 10_000;

/** Longer session keys are kept as their hash. */
const MAX_PLAIN_KEY = 512;

/** The cookies that name a better-auth session (`better-auth.session_token`, its `__Secure-` form, …). */
const SESSION_COOKIE = /^(?:__Secure-|__Host-)?better-auth\./;

/**
 * The part of a Cookie header that identifies the session, in a stable order; null when it has none.
 * Other cookies (analytics, say) change from request to request and must not split one session's entry.
 */
export function sessionKey(cookieHeader: string | null): string | null {
  if (!cookieHeader) return null;
  const parts: string[] = [];
  for (const part of cookieHeader.split(";")) {
    const pair = part.trim();
    const name = pair.slice(0, Math.max(0, pair.indexOf("=")));
    if (SESSION_COOKIE.test(name)) parts.push(pair);
  }
  if (parts.length === 0) return null;
  const key = parts.sort().join("; ");
  // A session's own cookie is about 100 characters; a client may send any number of `better-auth.` ones,
  // up to the 16 KB of a request head. Long keys are hashed, so each of the MAX_ENTRIES stays small.
  return key.length > MAX_PLAIN_KEY ? `sha256:${createHash("sha256").update(key).digest("base64url")}` : key;
}

type Entry<T> = { expires: number; value: Promise<T | null> };

export class AccessCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(private readonly options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}) {}

  /**
   * The answer for `key`, from `load` when none is fresh. Concurrent requests for one key share one load;
   * a refusal (null) and a failed load are not kept, so the next request asks again. `expiresAt` (a
   * session's own expiry) shortens how long an answer is kept.
   */
  async get(key: string, load: () => Promise<{ value: T; expiresAt?: Date } | null>): Promise<T | null> {
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return hit.value;
    if (hit) this.entries.delete(key);
    const ttl = this.options.ttlMs ?? ACCESS_CACHE_MS;
    const entry: Entry<T> = { expires: now + ttl, value: Promise.resolve(null) };
    entry.value = load().then(
      (loaded) => {
        if (!loaded) {
          this.drop(key, entry);
          return null;
        }
        if (loaded.expiresAt) entry.expires = Math.min(entry.expires, loaded.expiresAt.getTime());
        return loaded.value;
      },
      (error: unknown) => {
        this.drop(key, entry);
        throw error;
      },
    );
    const max = this.options.maxEntries ?? MAX_ENTRIES;
    while (this.entries.size >= max) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Forget every answer: the next request for each reads it again. */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(key: string, entry: Entry<T>) {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }

  private now() {
    return this.options.now?.() ?? Date.now();
  }
}
