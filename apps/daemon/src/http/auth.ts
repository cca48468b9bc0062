import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

import { MACHINE_TOKEN_COOKIE, MACHINE_TOKEN_HEADER } from "@os2/protocol";
import type { MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { z } from "zod";

import { HttpError } from "./errors";

// Hashing first makes the comparison constant-time regardless of the candidate's length.
const digest = (value: string) => createHash("sha256").update(value).digest();

/** Compares candidates with `MACHINE_AUTH_TOKEN` in constant time; `configured` is false when it is unset. */
export type MachineTokenCheck = { configured: boolean; matches: (candidate: string | undefined) => boolean };

export function machineTokenCheck(token: string | undefined): MachineTokenCheck {
  const expected = token === undefined ? undefined : digest(token);
  return {
    configured: expected !== undefined,
    matches: (candidate) =>
      expected !== undefined && candidate !== undefined && timingSafeEqual(digest(candidate), expected),
  };
}

const storedClaimSchema = z.object({ token: z.string().min(1) });

/**
 * The daemon's credential, which a warm-pool claim can change once. It starts as, in order: the token a
 * claim stored in `<state dir>/claim.json` (0600, so a restart keeps it); `MACHINE_AUTH_TOKEN`; or none.
 * A pool machine boots with `OS2_POOL_TOKEN` and no machine token: the pool credential is then accepted
 * by `PUT /api/claim` only, and every other route answers 401 until the claim. After the claim only the
 * claimed token is accepted, and the pool credential is refused everywhere, for good.
 */
export class DaemonCredential implements MachineTokenCheck {
  private check: MachineTokenCheck;
  private pool: MachineTokenCheck;
  private readonly file: string | undefined;

  constructor(options: { token: string | undefined; poolToken?: string | undefined; stateDir?: string | undefined }) {
    this.file = options.stateDir === undefined ? undefined : join(options.stateDir, "claim.json");
    const claimed = this.readClaim();
    this.check = machineTokenCheck(claimed ?? options.token);
    // A claimed or tokened machine is no pool member: its pool credential (if any) is refused.
    this.pool = machineTokenCheck(claimed === undefined && options.token === undefined ? options.poolToken : undefined);
  }

  get configured() {
    return this.check.configured;
  }

  /** Whether this daemon waits to be claimed (it has a pool credential and no token of its own). */
  get pooled() {
    return this.pool.configured && !this.check.configured;
  }

  matches = (candidate: string | undefined) => this.check.matches(candidate);

  matchesPool(candidate: string | undefined) {
    return this.pooled && this.pool.matches(candidate);
  }

  /** Takes the machine's own token: stored first, then the pool credential is revoked. */
  async claim(token: string): Promise<void> {
    if (this.file) {
      await mkdir(dirname(this.file), { recursive: true });
      const temporary = `${this.file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify({ token }), { mode: 0o600 });
      await chmod(temporary, 0o600);
      await rename(temporary, this.file);
    }
    this.check = machineTokenCheck(token);
    this.pool = machineTokenCheck(undefined);
  }

  private readClaim(): string | undefined {
    if (!this.file) return undefined;
    try {
      return storedClaimSchema.parse(JSON.parse(readFileSync(this.file, "utf8"))).token;
    } catch {
      return undefined; // never claimed (or unreadable: then the machine is not usable as claimed)
    }
  }
}

export const tokenNotSetError = () =>
  new HttpError(401, "unauthorized", "MACHINE_AUTH_TOKEN is not set on this machine; set it to use the daemon API");

/**
 * Requires `MACHINE_AUTH_TOKEN` as `Authorization: Bearer`, as the `X-Os2-Machine-Token` header, as
 * `?token=` (which also sets a cookie so a browser can follow relative links), or as that cookie.
 */
export function requireMachineToken(token: string | undefined | MachineTokenCheck): MiddlewareHandler {
  const check = typeof token === "object" ? token : machineTokenCheck(token);
  return async (c, next) => {
    if (!check.configured) {
      if (check instanceof DaemonCredential && check.pooled) {
        throw new HttpError(401, "unauthorized", "this machine is in os2's warm pool and not claimed yet");
      }
      throw tokenNotSetError();
    }
    const header = c.req.header("authorization");
    const bearer = header?.match(/^Bearer\s+(.+)$/i)?.[1];
    if (check.matches(bearer)) return next();
    const machineHeader = c.req.header(MACHINE_TOKEN_HEADER);
    if (check.matches(machineHeader)) return next();
    const queryToken = c.req.query("token");
    if (check.matches(queryToken) && queryToken !== undefined) {
      setCookie(c, MACHINE_TOKEN_COOKIE, queryToken, { httpOnly: true, sameSite: "Lax", path: "/" });
      return next();
    }
    const cookie = getCookie(c, MACHINE_TOKEN_COOKIE);
    if (check.matches(cookie)) return next();
    const given = bearer ?? machineHeader ?? queryToken ?? cookie;
    throw new HttpError(
      401,
      "unauthorized",
      given === undefined
        ? "missing credential: send Authorization: Bearer <MACHINE_AUTH_TOKEN>, X-Os2-Machine-Token: <MACHINE_AUTH_TOKEN> or ?token="
        : "wrong MACHINE_AUTH_TOKEN",
    );
  };
}
