import { z } from "zod";

import { queryIntSchema } from "./common";

/** `GET /api/logs`: the services whose s6-log directory exists. */
export const logsListResponseSchema = z.object({
  services: z.array(z.object({ name: z.string(), logDir: z.string() })),
});
export type LogsListResponse = z.infer<typeof logsListResponseSchema>;

/** The most lines one read (or a follow's first tail) returns. */
export const LOGS_MAX_LINES = 10_000;
/**
 * A longer line is cut to this many characters and ends in LOG_LINE_CUT_MARK: a process that writes one
 * endless line cannot make the daemon (or a reader) hold it all.
 */
export const LOG_LINE_MAX_CHARS = 8_192;
export const LOG_LINE_CUT_MARK = " …[line cut]";
/** A followed log sends a blank line after this long without new lines. */
export const LOGS_KEEPALIVE_MS = 15_000;

/**
 * `GET /api/logs/:service?lines=&follow=`: the last lines of s6-log's `current` file, oldest first.
 * `follow=1` answers with an NDJSON stream (`LogsStreamEvent`) instead, which stays open.
 */
export const logsReadQuerySchema = z.object({
  lines: queryIntSchema(1, LOGS_MAX_LINES).default(200),
  follow: z
    .enum(["0", "1", "true", "false"], { error: () => "must be 1 or 0 (true or false)" })
    .transform((value) => value === "1" || value === "true")
    .default(false),
});
export const logsReadResponseSchema = z.object({ service: z.string(), lines: z.array(z.string()) });
export type LogsReadResponse = z.infer<typeof logsReadResponseSchema>;

/**
 * One line of a followed log (`application/x-ndjson`). First `tail` (the last `lines` lines, possibly none),
 * then `lines` as s6-log appends them; `rotated` when s6-log started a new `current` (the lines before it
 * were all sent). Blank lines are keepalives (one per LOGS_KEEPALIVE_MS of quiet): readers skip them.
 */
const logLineSchema = z.string().max(LOG_LINE_MAX_CHARS + LOG_LINE_CUT_MARK.length);
export const logsStreamEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("tail"), service: z.string(), lines: z.array(logLineSchema).max(LOGS_MAX_LINES) }),
  z.object({ type: z.literal("lines"), lines: z.array(logLineSchema).max(LOGS_MAX_LINES) }),
  z.object({ type: z.literal("rotated") }),
]);
export type LogsStreamEvent = z.infer<typeof logsStreamEventSchema>;
