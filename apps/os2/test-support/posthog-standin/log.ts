/**
 * The NDJSON log format the stand-in CLI writes, and its reader for Playwright specs.
 *
 * One line per request. The body is kept as base64 (exact bytes, so a secret scan sees what went over the
 * wire even for gzip) and, for event endpoints, the decoded events are included so specs need not decode.
 */
import { readFile } from "node:fs/promises";

import { decodeCaptureBody, type ParsedEvent } from "./decode.ts";
import { eventsOf, type RecordedRequest } from "./standin.ts";

export interface StandinLogLine {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  bodyBase64: string;
  status: number;
  receivedAt: string;
  events: ParsedEvent[];
  /** Set when the body of an event endpoint could not be decoded; the line is still written. */
  decodeError?: string;
}

export function toLogLine(request: RecordedRequest): StandinLogLine {
  const line: StandinLogLine = {
    method: request.method,
    path: request.path,
    search: request.search,
    headers: request.headers,
    bodyBase64: request.body.toString("base64"),
    status: request.status,
    receivedAt: request.receivedAt.toISOString(),
    events: [],
  };
  try {
    line.events = eventsOf(request);
  } catch (error) {
    line.decodeError = error instanceof Error ? error.message : String(error);
  }
  return line;
}

/** Reads the log back; a missing file means the stand-in received nothing (it writes lazily). */
export async function readStandinLog(file: string): Promise<StandinLogLine[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return [];
    throw error;
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as StandinLogLine);
}

/**
 * A line's body as text to scan for secrets: decoded (gunzipped, base64-unwrapped) when it is a capture
 * body, else the raw bytes as UTF-8. Scanning the raw gzip bytes would find nothing even if a secret leaked.
 */
export function bodyTextOf(line: StandinLogLine): string {
  const body = Buffer.from(line.bodyBase64, "base64");
  try {
    return JSON.stringify(decodeCaptureBody(body, new URLSearchParams(line.search)));
  } catch {
    return body.toString("utf8");
  }
}
