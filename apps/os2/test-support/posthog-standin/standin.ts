/**
 * A local stand-in for PostHog's capture API (the `*.i.posthog.com` ingestion hosts and their assets host).
 *
 * PostHog Cloud is not reachable from tests, so this server speaks just enough of its protocol for the real
 * posthog-node and posthog-js to run against it unchanged. What it answers, and how bodies are encoded, follows
 * the observed wire facts in /work/shared/reference/posthog-wire.md ("Minimum stand-in responses").
 *
 * Every request is recorded with its raw body bytes and headers, including requests to unknown paths (which
 * get 404): tests assert both on what was sent and on the absence of traffic ("no keys, no calls").
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";

import { decodeCaptureBody, extractEvents, isEventEndpoint, type ParsedEvent } from "./decode.ts";

export type { ParsedEvent } from "./decode.ts";

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/batch/`. */
  path: string;
  /** The query string including `?`, or `""`. */
  search: string;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The body exactly as received, before any decoding. */
  body: Buffer;
  /** The status the stand-in answered with. */
  status: number;
  receivedAt: Date;
}

export interface PostHogStandinOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Called after each request is recorded; the CLI uses it to append to its NDJSON log. */
  onRequest?: (request: RecordedRequest) => void;
}

export interface PostHogStandin {
  /** Base URL to give posthog-node as `host` or the `/ingest` proxy as `posthogHost`, no trailing slash. */
  url: string;
  /** Every request received so far, in arrival order. Live array: it grows as requests arrive. */
  requests: RecordedRequest[];
  /** All events decoded from the event endpoints' bodies, in arrival order. */
  events(): ParsedEvent[];
  close(): Promise<void>;
}

/** The remote config that turns session replay on; `surveys` is left out on purpose (see the wire facts). */
const REMOTE_CONFIG = {
  supportedCompression: ["gzip-js"],
  sessionRecording: { endpoint: "/s/" },
  autocapture_opt_out: false,
};

const LAZY_RECORDER_PATH = /^\/static\/(?:[^/]+\/)?lazy-recorder\.js$/;
const REMOTE_CONFIG_PATH = /^\/array\/[^/]+\/config$/;

export async function startPostHogStandin(options: PostHogStandinOptions = {}): Promise<PostHogStandin> {
  const requests: RecordedRequest[] = [];
  const lazyRecorder = await loadLazyRecorder();

  const record = (request: RecordedRequest): void => {
    requests.push(request);
    options.onRequest?.(request);
  };
  const server = createServer((req, res) => {
    void handleRequest(req, res, lazyRecorder, record).catch((error: unknown) => {
      // A failed body read or log write must not leave the client hanging; a 500 makes the failure visible.
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    requests,
    events: () => requests.flatMap(eventsOf),
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Keep-alive sockets from posthog-node would otherwise hold close() open until they time out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Decodes one recorded request's events; requests to non-event endpoints yield none. */
export function eventsOf(request: Pick<RecordedRequest, "method" | "path" | "search" | "body">): ParsedEvent[] {
  if (request.method !== "POST" || !isEventEndpoint(request.path) || request.body.length === 0) return [];
  const decoded = decodeCaptureBody(request.body, new URLSearchParams(request.search));
  return extractEvents(request.path, decoded);
}

/** Records before answering, so whoever sees the response can rely on the request being recorded. */
async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  lazyRecorder: Buffer,
  record: (request: RecordedRequest) => void,
): Promise<void> {
  const body = await readBody(req);
  const url = new URL(req.url ?? "/", "http://standin.invalid");
  const method = req.method ?? "GET";
  const reply = route(method, url.pathname, lazyRecorder);
  record({
    method,
    path: url.pathname,
    search: url.search,
    headers: flattenHeaders(req),
    body,
    status: reply.status,
    receivedAt: new Date(),
  });
  res.writeHead(reply.status, { "content-type": reply.contentType });
  res.end(reply.body);
}

interface Reply {
  status: number;
  contentType: string;
  body: string | Buffer;
}

function route(method: string, path: string, lazyRecorder: Buffer): Reply {
  const json = (status: number, value: unknown): Reply => ({
    status,
    contentType: "application/json",
    body: JSON.stringify(value),
  });
  if (method === "POST") {
    // posthog-js retries anything but 200 (204 included), so event endpoints answer exactly `200 {}`.
    if (isEventEndpoint(path)) return json(200, {});
    if (path === "/flags/" || path === "/decide/") return json(200, { flags: {} });
  }
  if (method === "GET") {
    if (REMOTE_CONFIG_PATH.test(path)) return json(200, REMOTE_CONFIG);
    if (LAZY_RECORDER_PATH.test(path)) {
      return { status: 200, contentType: "application/javascript", body: lazyRecorder };
    }
    // `/array/<token>/config.js` falls through to 404 on purpose: posthog-js then fetches the JSON config.
  }
  return { status: 404, contentType: "text/plain", body: "not found" };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

/** The real recorder bundle from the installed posthog-js, so replay runs the code production runs. */
async function loadLazyRecorder(): Promise<Buffer> {
  const require = createRequire(import.meta.url);
  return readFile(require.resolve("posthog-js/dist/lazy-recorder.js"));
}
