/**
 * How many live streams (a followed log, a usage stream) one caller may hold open at once.
 *
 * Each open stream holds work on the server for as long as it lasts: an HTTP response, a re-check timer,
 * and a provider stream (Docker's log follow of its own, a share of a machine's stats stream). Without a
 * cap, one user or one access token could open them until the server or the Docker Engine gives out.
 *
 * The count is per user, across all of their sessions (signing in again gives no new slots), and per
 * access token; and all callers together have a server-wide cap (OS2_MAX_LIVE_STREAMS), so many users or
 * tokens each within their own cap cannot add up to more than the server and Docker hold. A slot is taken
 * when a stream starts and freed when it ends, however it ends: the client left, the stream failed, or the
 * caller lost access.
 */
import type { Caller } from "./access.ts";
import { DomainError } from "./errors.ts";

/**
 * Open log and usage streams allowed per user (all sessions together) and per access token. A machine
 * page holds two (logs and usage), the machines table one; a browser on HTTP/1.1 opens at most six
 * connections to a host, so only scripts and many HTTP/2 tabs come near it.
 */
export const MAX_OPEN_STREAMS_PER_CALLER = 32;

/** Open log and usage streams allowed on this server, all callers together. */
export const MAX_OPEN_STREAMS_TOTAL = 2_000;

export class StreamSlots {
  private readonly held = new Map<string, number>();
  private total = 0;

  constructor(
    readonly limit: number = MAX_OPEN_STREAMS_PER_CALLER,
    readonly totalLimit: number = MAX_OPEN_STREAMS_TOTAL,
  ) {}

  /**
   * Takes a slot for one more stream of `caller`, or throws `rate_limited` when they hold `limit` already,
   * and `unavailable` (503) when the server holds `totalLimit`. The returned function frees the slot;
   * calling it again does nothing.
   */
  take(caller: Caller): () => void {
    const holder = holderOf(caller);
    const count = this.held.get(holder) ?? 0;
    if (count >= this.limit) {
      const whoHas = caller.kind === "token" ? "This access token has" : "You have";
      throw new DomainError(
        "rate_limited",
        `Too many live streams: ${whoHas} ${this.limit} log or usage streams open, the most allowed at once. ` +
          "Close machine pages or tabs you no longer watch (or end streams your script no longer reads), then try again.",
      );
    }
    if (this.total >= this.totalLimit) {
      throw new DomainError(
        "unavailable",
        `Too many live streams on this server: all ${this.totalLimit} it holds at once are open (OS2_MAX_LIVE_STREAMS). ` +
          "Try again in a moment; an administrator can raise the limit.",
      );
    }
    this.held.set(holder, count + 1);
    this.total += 1;
    let holding = true;
    return () => {
      if (!holding) return;
      holding = false;
      this.total -= 1;
      const left = (this.held.get(holder) ?? 1) - 1;
      if (left > 0) this.held.set(holder, left);
      else this.held.delete(holder);
    };
  }

  /** Streams `caller` holds open now. */
  openFor(caller: Caller): number {
    return this.held.get(holderOf(caller)) ?? 0;
  }

  /** Streams open now, all callers together. */
  get open(): number {
    return this.total;
  }
}

/** Whose slots a stream counts against: the signed-in user (any session), or the access token. */
function holderOf(caller: Caller): string {
  if (caller.kind === "user") return `user:${caller.user.id}`;
  if (caller.kind === "token") return `token:${caller.tokenId}`;
  // Streams are project procedures, which refuse anonymous callers before this; never share one pool.
  throw new DomainError("unauthorized", "Sign in first (or send a project access token) to open a live stream.");
}
