/**
 * A service's log followed through the dashboard door: `GET <proxyPath>api/logs/<service>?follow=1`, the
 * daemon's NDJSON stream (`LogsStreamEvent` in @os2/protocol), read with fetch as it arrives. Every line is
 * parsed with the shared schema; anything else ends the stream with an error, never reaches the page.
 */
import { apiErrorSchema, type LogsStreamEvent, logsStreamEventSchema } from "@os2/protocol";

/** The longest NDJSON line accepted from the machine; the daemon's events stay far below it. */
const MAX_EVENT_CHARS = 8 * 1024 * 1024;

export class LogStreamError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "LogStreamError";
  }
}

/** Calls `onEvent` for each event until the stream ends (resolves) or fails or `signal` aborts (rejects). */
export async function followServiceLog(
  proxyPath: string,
  service: string,
  lines: number,
  onEvent: (event: LogsStreamEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await fetch(`${proxyPath}api/logs/${encodeURIComponent(service)}?follow=1&lines=${lines}`, {
    credentials: "same-origin",
    headers: { accept: "application/x-ndjson" },
    signal,
  });
  if (!response.ok || !response.body) {
    const body: unknown = await response.json().catch(() => null);
    const error = apiErrorSchema.safeParse(body);
    const reason = error.success ? error.data.message : response.statusText;
    throw new LogStreamError(`The daemon answered ${response.status}: ${reason}`, response.status);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      let newline = buffered.indexOf("\n");
      while (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        // Blank lines are keepalives.
        if (line.trim()) onEvent(parseEvent(line));
        newline = buffered.indexOf("\n");
      }
      if (buffered.length > MAX_EVENT_CHARS) throw new LogStreamError("The daemon sent an oversized log event.");
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

function parseEvent(line: string): LogsStreamEvent {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new LogStreamError("The daemon sent a log event that is not JSON.");
  }
  const parsed = logsStreamEventSchema.safeParse(json);
  if (!parsed.success) throw new LogStreamError("The daemon sent an unexpected log event.");
  return parsed.data;
}
