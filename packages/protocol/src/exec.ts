import { z } from "zod";

export const EXEC_DEFAULT_TIMEOUT_MS = 60_000;
export const EXEC_MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** A streamed exec sends a blank line after this long without output. */
export const EXEC_KEEPALIVE_MS = 15_000;

/** `POST /api/exec`: runs `command` with `args` directly (no shell; use `bash -lc` for one). */
export const execRequestSchema = z.object({
  command: z.string().min(1, "must not be empty"),
  args: z.array(z.string()).default([]),
  /** Absolute, or relative to the workspace directory. Defaults to the workspace directory. */
  cwd: z.string().optional(),
  /** Added to the daemon's environment. */
  env: z.record(z.string(), z.string()).default({}),
  timeoutMs: z.number().int().positive().max(EXEC_MAX_TIMEOUT_MS).default(EXEC_DEFAULT_TIMEOUT_MS),
  /** Written to the process's stdin, which is then closed. */
  stdin: z.string().optional(),
  /** How `stdin` is encoded: `base64` for bytes that are not UTF-8 text. */
  stdinEncoding: z.enum(["utf8", "base64"]).default("utf8"),
  /** true: answer with NDJSON `ExecStreamEvent` lines as output arrives. false: one `ExecResult`. */
  stream: z.boolean().default(false),
});
export type ExecRequest = z.input<typeof execRequestSchema>;

const execExitFields = {
  /** 127 when the binary is missing, 126 when it is not executable, 128+n after signal n, 124 on timeout. */
  exitCode: z.number().int(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  durationMs: z.number(),
};

export const execResultSchema = z.object({
  ...execExitFields,
  stdout: z.string(),
  stderr: z.string(),
  /** true when stdout or stderr went over the daemon's buffer cap and was cut. */
  truncated: z.boolean(),
});
export type ExecResult = z.infer<typeof execResultSchema>;

/**
 * One line of the NDJSON stream (`application/x-ndjson`); the last line is always `exit`. Blank lines are
 * keepalives (one at once, so the response head is not held back, then one per EXEC_KEEPALIVE_MS of
 * quiet): readers skip them.
 */
export const execStreamEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("stdout"), data: z.string() }),
  z.object({ type: z.literal("stderr"), data: z.string() }),
  z.object({ type: z.literal("exit"), ...execExitFields }),
]);
export type ExecStreamEvent = z.infer<typeof execStreamEventSchema>;
