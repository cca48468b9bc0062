import { createHash, timingSafeEqual } from "node:crypto";

import { MACHINE_TOKEN_COOKIE } from "@os2/protocol";
import type { MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";

import { HttpError } from "./errors";

// Hashing first makes the comparison constant-time regardless of the candidate's length.
const digest = (value: string) => createHash("sha256").update(value).digest();
const sameToken = (candidate: string, expected: Buffer) => timingSafeEqual(digest(candidate), expected);

/**
 * Requires `MACHINE_AUTH_TOKEN` as `Authorization: Bearer`, as `?token=` (which also sets a cookie so a
 * browser can follow relative links), or as that cookie.
 */
export function requireMachineToken(token: string | undefined): MiddlewareHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async (c, next) => {
    if (!expected) {
      throw new HttpError(
        401,
        "unauthorized",
        "MACHINE_AUTH_TOKEN is not set on this machine; set it to use the daemon API",
      );
    }
    const header = c.req.header("authorization");
    const bearer = header?.match(/^Bearer\s+(.+)$/i)?.[1];
    if (bearer !== undefined && sameToken(bearer, expected)) return next();
    const queryToken = c.req.query("token");
    if (queryToken !== undefined && sameToken(queryToken, expected)) {
      setCookie(c, MACHINE_TOKEN_COOKIE, queryToken, { httpOnly: true, sameSite: "Lax", path: "/" });
      return next();
    }
    const cookie = getCookie(c, MACHINE_TOKEN_COOKIE);
    if (cookie !== undefined && sameToken(cookie, expected)) return next();
    const given = bearer ?? queryToken ?? cookie;
    throw new HttpError(
      401,
      "unauthorized",
      given === undefined
        ? "missing credential: send Authorization: Bearer <MACHINE_AUTH_TOKEN> or ?token="
        : "wrong MACHINE_AUTH_TOKEN",
    );
  };
}
