/**
 * Moving bytes between a client and a machine, at the Node level: HTTP requests over keep-alive
 * connections, and WebSocket (any `Upgrade`) connections spliced at the TCP level once the machine has
 * answered 101. Bodies stream both ways and `pipe` carries backpressure: a slow reader slows the machine's
 * writes instead of growing memory here.
 *
 * What may pass is decided by the caller, per origin: `requestHeaders` are already filtered, and every
 * response head goes through `policy` before a byte of it reaches the client. Every socket has an `error`
 * listener before anything is awaited, so a reset on either side ends the other and never the process.
 */
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import https from "node:https";
import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";

import { apiErrorCodeFor } from "@os2/protocol";

import { type DaemonEndpoint, withFreshEndpoint } from "../services/machines/endpoints.ts";

/** Headers that describe one hop, never passed on (RFC 9110 §7.6.1), in either direction. */
export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** A body that may be sent twice (a refreshable endpoint can answer 401 once) is read whole up to this. */
const MAX_REPLAYABLE_BODY = 16 * 1024 * 1024;
const MAX_RESPONSE_HEAD = 32 * 1024;
/** Time to the machine's response head; bodies themselves may stream for as long as they like. */
const HEAD_TIMEOUT_MS = 120_000;

/**
 * Keep-alive pools for the machines. An Agent pools per origin (host:port), so every daemon endpoint gets
 * its own bounded pool: at most 512 connections in flight and 64 idle per endpoint, the most recently used
 * reused first. Idle connections close after 4 s, under the 5 s keep-alive of Node servers (the daemon)
 * and of most proxies (Daytona's), so a request never goes out on a connection the far side is closing.
 * keep-alive.integration.test.ts holds the reuse.
 */
const AGENT_OPTIONS = {
  keepAlive: true,
  maxSockets: 512,
  maxFreeSockets: 64,
  timeout: 4_000,
  scheduling: "lifo",
} as const;
const agents = { http: new http.Agent(AGENT_OPTIONS), https: new https.Agent(AGENT_OPTIONS) };

export type ResponseHead = { status: number; headers: IncomingHttpHeaders };
/** Returns the head to send (filtered, with added headers), or a refusal that becomes a 502 naming why. */
export type ResponsePolicy = (
  head: ResponseHead,
) => { status: number; headers: OutgoingHttpHeaders } | { refuse: string };

export type RelayOptions = {
  endpoint: DaemonEndpoint;
  /** Path and query below the endpoint's URL, starting with "/". */
  pathAndQuery: string;
  /** The request headers to send, already filtered by the door; the endpoint's own headers are added. */
  requestHeaders: OutgoingHttpHeaders;
  policy: ResponsePolicy;
  /** How long the machine may take to its response head; HEAD_TIMEOUT_MS when not given. */
  headTimeoutMs?: number | undefined;
};

export class RelayError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "RelayError";
  }
}

/** For upgrades: the full URL, since the socket is opened by hand. */
function upstreamUrl(endpoint: DaemonEndpoint, pathAndQuery: string): URL {
  const base = new URL(endpoint.url);
  const url = new URL(base.href);
  const [path = "/", query] = splitOnce(pathAndQuery, "?");
  url.pathname = `${base.pathname.replace(/\/$/, "")}${path}`;
  url.search = query === undefined ? "" : `?${query}`;
  return url;
}

function splitOnce(value: string, separator: string): [string, string | undefined] {
  const index = value.indexOf(separator);
  return index === -1 ? [value, undefined] : [value.slice(0, index), value.slice(index + 1)];
}

/**
 * Relays one HTTP request. Rejects with RelayError (or the connection's error) before anything was written
 * to `response`; resolves once the machine's head is relayed and its body is piping.
 *
 * The hot path of both doors: an endpoint without `refresh` (local Docker's) costs one upstream request,
 * one promise and no timer or copy of the headers of its own: `requestHeaders` must be a fresh object,
 * the endpoint's headers are added to it.
 */
export function relayHttp(request: IncomingMessage, response: ServerResponse, options: RelayOptions): Promise<void> {
  if (options.endpoint.refresh) return relayRefreshable(request, response, options);
  return new Promise((resolve, reject) => {
    const exchange = new Exchange(request, response, options, options.endpoint, (error, answer) => {
      if (error) reject(error);
      else {
        try {
          relayAnswer(response, answer as IncomingMessage, options.policy);
          resolve();
        } catch (refused) {
          reject(refused);
        }
      }
    });
    exchange.watch();
    exchange.send(Object.assign(options.requestHeaders, options.endpoint.headers), null);
  });
}

/** An endpoint whose credentials can go stale: a 401 is retried with a refreshed one (the body replayed). */
async function relayRefreshable(request: IncomingMessage, response: ServerResponse, options: RelayOptions) {
  const method = request.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  const replayable = hasBody ? await readBody(request, MAX_REPLAYABLE_BODY) : null;
  const send = (endpoint: DaemonEndpoint) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const exchange = new Exchange(request, response, options, endpoint, (error, answer) =>
        error ? reject(error) : resolve(answer as IncomingMessage),
      );
      exchange.watch();
      // A copy per attempt: a refreshed endpoint must not inherit the stale one's headers.
      exchange.send({ ...options.requestHeaders, ...endpoint.headers }, replayable);
    });
  const answer = await withFreshEndpoint(options.endpoint, {
    perform: send,
    isUnauthorized: (result) => result.statusCode === 401,
    discard: (result) => {
      result.destroy();
    },
  });
  relayAnswer(response, answer, options.policy);
}

/** The machine's head through `policy` (a refusal throws before anything is written), then its body. */
function relayAnswer(response: ServerResponse, upstream: IncomingMessage, policy: ResponsePolicy): void {
  if (response.destroyed) {
    upstream.destroy();
    return;
  }
  const decided = policy({ status: upstream.statusCode ?? 502, headers: upstream.headers });
  if ("refuse" in decided) {
    upstream.destroy();
    throw new RelayError(502, decided.refuse);
  }
  response.writeHead(decided.status, decided.headers);
  upstream.on("error", () => response.destroy());
  upstream.pipe(response);
}

/** Parsed once per endpoint object (endpoints are cached): request options, not a URL per request. */
const parsedEndpoints = new WeakMap<
  DaemonEndpoint,
  { secure: boolean; hostname: string; port: number; basePath: string }
>();

function endpointTarget(endpoint: DaemonEndpoint) {
  let parsed = parsedEndpoints.get(endpoint);
  if (!parsed) {
    const url = new URL(endpoint.url);
    const secure = url.protocol === "https:";
    parsed = {
      secure,
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || (secure ? 443 : 80)),
      basePath: url.pathname.replace(/\/$/, ""),
    };
    parsedEndpoints.set(endpoint, parsed);
  }
  return parsed;
}

/** A kept-alive connection that the machine closed just as it was reused; the request never arrived. */
const STALE_CONNECTION = new Set(["ECONNRESET", "EPIPE"]);

/**
 * Requests waiting for their machine's head, swept once a second: one shared timer instead of one per
 * request (a timer each was a measurable share of the door's own cost). Deadlines are thus kept to ±1 s.
 */
const awaitingHead = new Set<Exchange>();
let headSweeper: NodeJS.Timeout | null = null;

function sweepHeadDeadlines() {
  const now = Date.now();
  for (const exchange of awaitingHead) if (exchange.deadline <= now) exchange.expire();
  if (awaitingHead.size === 0 && headSweeper) {
    clearInterval(headSweeper);
    headSweeper = null;
  }
}

/**
 * The machine's side of one relayed request: the upstream request (retried once on a stale kept-alive
 * connection), its head deadline, and the client's side ending it. `settle` is called exactly once, with
 * the machine's answer (head received, body not yet read) or the reason there is none.
 */
class Exchange {
  readonly deadline: number;
  private readonly method: string;
  private readonly hasBody: boolean;
  private pending: http.ClientRequest | null = null;
  private answer: IncomingMessage | null = null;
  private settled = false;
  private closed = false;
  private retried = false;

  constructor(
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    private readonly options: RelayOptions,
    private readonly endpoint: DaemonEndpoint,
    private readonly settle: (error: Error | null, answer?: IncomingMessage) => void,
  ) {
    this.method = request.method ?? "GET";
    this.hasBody = this.method !== "GET" && this.method !== "HEAD";
    this.deadline = Date.now() + (options.headTimeoutMs ?? HEAD_TIMEOUT_MS);
  }

  /** Whoever ends the client's side (the client, or a revocation destroying `response`) ends the machine's. */
  watch(): void {
    this.response.once("close", () => {
      this.closed = true;
      this.pending?.destroy();
      if (this.answer && !this.answer.complete) this.answer.destroy();
    });
  }

  send(headers: OutgoingHttpHeaders, replayable: Buffer | null): void {
    awaitingHead.add(this);
    headSweeper ??= setInterval(sweepHeadDeadlines, 1_000).unref();
    this.attempt(headers, replayable, false);
  }

  expire(): void {
    this.pending?.destroy(new RelayError(504, "the machine sent no response head in time"));
  }

  private finish(error: Error | null, answer?: IncomingMessage): void {
    awaitingHead.delete(this);
    this.pending = null;
    if (this.settled) return;
    this.settled = true;
    this.settle(error, answer);
  }

  private attempt(headers: OutgoingHttpHeaders, replayable: Buffer | null, fresh: boolean): void {
    const target = endpointTarget(this.endpoint);
    let outgoing: http.ClientRequest;
    try {
      outgoing = (target.secure ? https : http).request({
        method: this.method,
        hostname: target.hostname,
        port: target.port,
        path: `${target.basePath}${this.options.pathAndQuery}`,
        // The retry gets a connection of its own: the app may have closed all its idle ones at once.
        agent: fresh ? false : target.secure ? agents.https : agents.http,
        headers,
      });
    } catch (error) {
      // A header or path Node refuses throws here, not as an event: settle, or the exchange would wait for
      // its head deadline forever (and a throw from the retry, in an `error` listener, would end the process).
      this.finish(error as Error);
      return;
    }
    this.pending = outgoing;
    outgoing.once("response", (answer: IncomingMessage) => {
      this.answer = answer;
      this.finish(null, answer);
    });
    outgoing.once("error", (error: NodeJS.ErrnoException) => {
      // Apps close idle connections on their own schedule (the daemon's forward retried the same way): a
      // reused connection reset before any answer is retried once on a new one, when the whole request
      // can be sent again and the client still waits.
      const resend = !this.hasBody || replayable !== null;
      if (
        !this.retried &&
        resend &&
        !this.closed &&
        !this.answer &&
        outgoing.reusedSocket &&
        STALE_CONNECTION.has(error.code ?? "")
      ) {
        this.retried = true;
        this.attempt(headers, replayable, true);
        return;
      }
      this.finish(error);
    });
    if (replayable) outgoing.end(replayable);
    else if (this.hasBody) {
      this.request.pipe(outgoing);
      this.request.once("error", () => outgoing.destroy());
    } else outgoing.end();
  }
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > limit) throw new RelayError(413, `Request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Relays an `Upgrade` request. Resolves with a function that tears the connection down once the machine
 * answered 101 and both sockets are spliced; throws RelayError (nothing written to the client) otherwise.
 * The machine's 101 head passes through `policy` too, so it cannot plant cookies or other headers.
 */
export async function relayUpgrade(
  request: IncomingMessage,
  client: Duplex,
  head: Buffer,
  options: RelayOptions & { signal?: AbortSignal },
): Promise<() => void> {
  const opened = await withFreshEndpoint(options.endpoint, {
    perform: (endpoint) => openUpgrade(endpoint, request, head, options),
    isUnauthorized: (result) => result.head.status === 401,
    discard: (result) => {
      result.socket.destroy();
    },
  });
  const { socket: upstream, head: answer, rest } = opened;
  if (answer.status !== 101) {
    upstream.destroy();
    throw new RelayError(
      answer.status >= 400 && answer.status < 600 ? answer.status : 502,
      `the machine answered ${answer.status} to the upgrade`,
    );
  }
  const decided = options.policy(answer);
  if ("refuse" in decided) {
    upstream.destroy();
    throw new RelayError(502, decided.refuse);
  }
  client.write(serializeHead(101, "Switching Protocols", decided.headers));
  if (rest.length > 0) client.write(rest);
  const close = () => {
    upstream.destroy();
    client.destroy();
  };
  upstream.on("error", close);
  client.on("error", close);
  upstream.on("close", () => client.destroy());
  client.on("close", () => upstream.destroy());
  upstream.pipe(client);
  client.pipe(upstream);
  return close;
}

type OpenedUpgrade = { socket: Duplex; head: ResponseHead; rest: Buffer };

function openUpgrade(
  endpoint: DaemonEndpoint,
  request: IncomingMessage,
  earlyData: Buffer,
  options: RelayOptions & { signal?: AbortSignal },
): Promise<OpenedUpgrade> {
  const url = upstreamUrl(endpoint, options.pathAndQuery);
  const secure = url.protocol === "https:";
  const port = Number(url.port || (secure ? 443 : 80));
  return new Promise((resolve, reject) => {
    const socket: net.Socket = secure
      ? tls.connect({ host: url.hostname, port, servername: url.hostname })
      : net.connect({ host: url.hostname, port });
    socket.setNoDelay(true);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once("error", fail);
    socket.setTimeout(30_000, () => fail(new RelayError(504, "the machine did not answer the upgrade in time")));
    const headers: OutgoingHttpHeaders = { ...options.requestHeaders, ...endpoint.headers };
    if (!("host" in headers)) headers.host = url.host;
    headers.connection = "Upgrade";
    headers.upgrade = request.headers.upgrade ?? "websocket";
    socket.once(secure ? "secureConnect" : "connect", () => {
      socket.write(
        `${request.method ?? "GET"} ${url.pathname}${url.search} HTTP/1.1\r\n${serializeHeaders(headers)}\r\n`,
      );
      if (earlyData.length > 0) socket.write(earlyData);
    });
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) {
        if (buffered.length > MAX_RESPONSE_HEAD) fail(new RelayError(502, "the machine's upgrade answer is too large"));
        return;
      }
      socket.off("data", onData);
      socket.off("error", fail);
      socket.setTimeout(0);
      socket.pause();
      const parsed = parseResponseHead(buffered.subarray(0, end).toString("latin1"));
      if (!parsed) return fail(new RelayError(502, "the machine's upgrade answer is not HTTP"));
      // Errors from here on are handled by whoever takes the socket; until then, one that ends nothing.
      socket.on("error", () => socket.destroy());
      resolve({ socket, head: parsed, rest: buffered.subarray(end + 4) });
    };
    socket.on("data", onData);
    options.signal?.addEventListener("abort", () => fail(new RelayError(499, "aborted")), { once: true });
  });
}

function parseResponseHead(text: string): ResponseHead | null {
  const [statusLine = "", ...lines] = text.split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) return null;
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const existing = headers[name];
    if (name === "set-cookie") headers["set-cookie"] = [...(headers["set-cookie"] ?? []), value];
    else headers[name] = existing === undefined ? value : `${String(existing)}, ${value}`;
  }
  return { status: Number(match[1]), headers };
}

function serializeHeaders(headers: OutgoingHttpHeaders): string {
  let out = "";
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      const text = String(item);
      // A header value with a line break would let a machine (or a client) inject headers.
      if (/[\r\n]/.test(text) || /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(name)) continue;
      out += `${name}: ${text}\r\n`;
    }
  }
  return out;
}

function serializeHead(status: number, text: string, headers: OutgoingHttpHeaders): string {
  return `HTTP/1.1 ${status} ${text}\r\n${serializeHeaders(headers)}\r\n`;
}

/** A plain HTTP answer written straight to a socket (upgrade refusals), then the socket is closed. */
export function rejectSocket(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: apiErrorCodeFor(status), message });
  socket.end(
    serializeHead(status, http.STATUS_CODES[status] ?? "Error", {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      connection: "close",
    }) + body,
  );
}

/** Request headers minus hop-by-hop ones and the ones a door names; values joined as Node gives them. */
export function copyRequestHeaders(headers: IncomingHttpHeaders, drop: ReadonlySet<string>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || drop.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** For upgrades: the WebSocket handshake headers are hop-by-hop in spirit but must reach the machine. */
export function websocketHandshakeHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name of [
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
  ]) {
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
