/**
 * Decoding of PostHog capture bodies, shared by the stand-in server and by readers of its NDJSON log
 * (Playwright specs), so both see events the same way.
 *
 * The sniffing order follows /work/shared/reference/posthog-wire.md ("Body encodings"): posthog-js sends
 * raw gzip bytes as `text/plain` with no Content-Encoding header, or a form `data=<base64>` with
 * `?compression=base64`, or plain JSON; posthog-node sends gzip with `Content-Encoding: gzip`. Sniffing the
 * bytes rather than trusting headers is what makes one decoder cover all of them.
 */
import { gunzipSync } from "node:zlib";

/** One event as PostHog would ingest it, whichever library and endpoint sent it. */
export interface ParsedEvent {
  /** The path the event arrived on, e.g. `/batch/`, `/e/`, `/s/`, `/i/v0/e/`. */
  endpoint: string;
  event: string;
  /** posthog-node puts it at the top level, posthog-js inside `properties.distinct_id`. */
  distinctId: string | undefined;
  properties: Record<string, unknown>;
  /** The project token: the body's `api_key`, or `properties.token` for posthog-js. */
  apiKey: string | undefined;
  timestamp: string | undefined;
  uuid: string | undefined;
  /** The whole event object as sent, for assertions on fields this type does not lift out. */
  raw: Record<string, unknown>;
}

/** The paths whose bodies carry events; other recorded requests (config, flags, assets) carry none. */
const EVENT_ENDPOINTS: readonly string[] = ["/batch/", "/e/", "/i/v0/e/", "/s/", "/capture/", "/track/"];

export function isEventEndpoint(path: string): boolean {
  return EVENT_ENDPOINTS.includes(normalizeEndpoint(path));
}

/** `/e` and `/e/` are the same endpoint to PostHog; compare with the trailing slash. */
export function normalizeEndpoint(path: string): string {
  return path.endsWith("/") ? path : `${path}/`;
}

/**
 * Turns a raw body into its JSON value. Throws when the body is none of the known encodings: a stand-in
 * that silently ignored a body would let a test pass while the library sent something PostHog rejects.
 */
export function decodeCaptureBody(body: Uint8Array, query: URLSearchParams): unknown {
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) {
    return JSON.parse(gunzipSync(body).toString("utf8"));
  }
  const text = Buffer.from(body).toString("utf8");
  if (query.get("compression") === "base64" || text.startsWith("data=")) {
    const data = new URLSearchParams(text).get("data");
    if (data === null) throw new Error("form-encoded PostHog body has no `data` field");
    return JSON.parse(Buffer.from(data, "base64").toString("utf8"));
  }
  return JSON.parse(text);
}

/** Lifts the events out of a decoded body: `{batch:[…]}`, a bare array (replay), or one event object. */
export function extractEvents(endpoint: string, decoded: unknown): ParsedEvent[] {
  const bodyApiKey = isRecord(decoded) && typeof decoded.api_key === "string" ? decoded.api_key : undefined;
  const items: unknown[] = Array.isArray(decoded)
    ? decoded
    : isRecord(decoded) && Array.isArray(decoded.batch)
      ? decoded.batch
      : [decoded];
  return items.filter(isRecord).map((raw) => {
    const properties = isRecord(raw.properties) ? raw.properties : {};
    return {
      endpoint: normalizeEndpoint(endpoint),
      event: typeof raw.event === "string" ? raw.event : "",
      distinctId: stringOrUndefined(raw.distinct_id) ?? stringOrUndefined(properties.distinct_id),
      properties,
      apiKey: bodyApiKey ?? stringOrUndefined(raw.api_key) ?? stringOrUndefined(properties.token),
      timestamp: stringOrUndefined(raw.timestamp),
      uuid: stringOrUndefined(raw.uuid),
      raw,
    };
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
