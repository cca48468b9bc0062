import { z } from "zod";

/** The port the daemon listens on inside every machine. */
export const DAEMON_PORT = 3000;

/** Every non-2xx answer of the daemon has this shape; `field` names the offending input when there is one. */
export const errorResponseSchema = z.object({
  error: z.enum([
    "bad_request",
    "unauthorized",
    "not_found",
    "payload_too_large",
    "conflict",
    "internal",
    /** 502: the forward reached nothing (no listener on the port, or the connection failed). */
    "bad_gateway",
  ]),
  message: z.string(),
  field: z.string().optional(),
});
export type ErrorResponse = z.infer<typeof errorResponseSchema>;

// tmux forbids "." and ":" in session names (they are target separators); keep names shell-safe too.
export const tmuxSessionNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z, a-z, 0-9, _ or -");

/** Query-string integers arrive as strings. */
export const queryIntSchema = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Names the token cookie that `?token=` sets, so browsers can open daemon pages without headers. */
export const MACHINE_TOKEN_COOKIE = "os2_machine_token";

/**
 * The header that carries `MACHINE_AUTH_TOKEN` without taking the `Authorization` header, so a forwarded
 * request (`/api/forward/:port/…`) keeps the client's own `Authorization` for the app. Accepted on every
 * route; lower-case because HTTP header names are case-insensitive and Node reports them lower-cased.
 */
export const MACHINE_TOKEN_HEADER = "x-os2-machine-token";
