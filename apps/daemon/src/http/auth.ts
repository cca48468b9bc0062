import { createHash, timingSafeEqual } from "node:crypto";

import { MACHINE_TOKEN_COOKIE, MACHINE_TOKEN_HEADER } from "@os2/protocol";
import type { MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";

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

export const tokenNotSetError = () =>
  new HttpError(401, "unauthorized", "MACHINE_AUTH_TOKEN is not set on this machine; set it to use the daemon API");

/**
 * Requires `MACHINE_AUTH_TOKEN` as `Authorization: Bearer`, as the `X-Os2-Machine-Token` header, as
 * `?token=` (which also sets a cookie so a browser can follow relative links), or as that cookie.
 */
export function requireMachineToken(token: string | undefined): MiddlewareHandler {
  const check = machineTokenCheck(token);
  return async (c, next) => {
    if (!check.configured) throw tokenNotSetError();
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
