/**
 * The machine proxy: `/org/:org/proj/:project/:machine/proxy/:port/*` streams HTTP and WebSocket traffic to
 * the daemon (port 3000) or any other port of the machine. It adds the daemon credential (port 3000 only,
 * so user apps never see it) and the provider's headers (Daytona's preview token), and strips the caller's
 * own cookie and authorization so os2 credentials never reach the machine.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

import type { Context } from "hono";
import { WebSocket, WebSocketServer } from "ws";

import { headersOf } from "../http/node-headers.ts";
import type { Logger } from "../logger.ts";
import type { AccessService, MachineAccess } from "../services/access.ts";
import { asDomainError } from "../services/errors.ts";
import { type DaemonEndpoint, type EndpointAttempt, withFreshEndpoint } from "../services/machines/endpoints.ts";
import { errorMessage, type Machine, type MachineService } from "../services/machines/machine-service.ts";
import { type MachineAddress, parseProxyPath } from "./proxy-path.ts";

export type MachineProxyOptions = { access: AccessService; machines: MachineService; log: Logger };

type AccessAnswer = { status: "ok"; access: MachineAccess } | { status: "unauthorized" } | { status: "not_found" };

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "cookie",
  "authorization",
  "content-length",
]);
/** fetch() has already decoded the body, and os2 must not plant the machine's cookies on its own origin. */
const DROPPED_RESPONSE_HEADERS = new Set([
  "content-encoding",
  "content-length",
  "transfer-encoding",
  "connection",
  "set-cookie",
]);
const MAX_REPLAYABLE_BODY = 16 * 1024 * 1024;

/** Access decisions are reused this long, so a burst of requests costs one session and membership lookup. */
const ACCESS_CACHE_MS = 2_000;

export function createMachineProxy(options: MachineProxyOptions) {
  const wss = new WebSocketServer({ noServer: true });
  const accessCache = new Map<string, { expires: number; answer: AccessAnswer }>();

  async function cachedAccess(headers: Headers, target: MachineAddress): Promise<AccessAnswer> {
    const credential = headers.get("authorization") ?? headers.get("cookie") ?? "";
    const key = `${credential}\n${target.organizationSlug}/${target.projectSlug}/${target.machineId}`;
    const hit = accessCache.get(key);
    if (hit && hit.expires > Date.now()) return hit.answer;
    const answer = await decideAccess(headers, target);
    if (answer.status === "ok") {
      if (accessCache.size > 1_000) accessCache.clear();
      accessCache.set(key, { expires: Date.now() + ACCESS_CACHE_MS, answer });
    }
    return answer;
  }

  async function decideAccess(headers: Headers, target: MachineAddress): Promise<AccessAnswer> {
    try {
      const caller = await options.access.identify(headers);
      return { status: "ok", access: await options.access.machine(caller, target) };
    } catch (error) {
      const kind = asDomainError(error)?.kind;
      if (kind === "unauthorized") return { status: "unauthorized" };
      if (kind === "not_found") return { status: "not_found" };
      throw error;
    }
  }

  /** Calls the machine; a rejected credential of a refreshable endpoint (Daytona) is refreshed once. */
  async function withEndpoint<T>(row: Machine, port: number, attempt: EndpointAttempt<T>): Promise<T> {
    return withFreshEndpoint(await options.machines.openEndpoint(row, port), attempt);
  }

  async function handleHttp(c: Context): Promise<Response> {
    const url = new URL(c.req.url);
    const target = parseProxyPath(url.pathname);
    if (!target) return c.json({ error: "Not a machine proxy path" }, 404);
    const access = await cachedAccess(c.req.raw.headers, target);
    if (access.status === "unauthorized")
      return c.json({ error: "Sign in, or send a project access token as Bearer." }, 401);
    if (access.status === "not_found") return c.json({ error: "Machine not found" }, 404);

    const row = access.access.machine;
    const headers = new Headers();
    for (const [name, value] of c.req.raw.headers) if (!HOP_BY_HOP.has(name.toLowerCase())) headers.set(name, value);
    const method = c.req.method;
    const hasBody = method !== "GET" && method !== "HEAD";
    try {
      const endpoint = await options.machines.openEndpoint(row, target.port);
      // A refreshable endpoint may need a second attempt, so its bodies must be replayable.
      const body = hasBody && endpoint.refresh ? await readLimited(c.req.raw, MAX_REPLAYABLE_BODY) : c.req.raw.body;
      const upstream = await withFreshEndpoint(endpoint, {
        perform: (current) => {
          const outgoing = new Headers(headers);
          for (const [name, value] of Object.entries(current.headers)) outgoing.set(name, value);
          return fetch(`${current.url}${target.rest}${url.search}`, {
            method,
            headers: outgoing,
            body: hasBody ? body : undefined,
            redirect: "manual",
            ...(hasBody && body instanceof ReadableStream ? { duplex: "half" } : {}),
          });
        },
        isUnauthorized: (response) => response.status === 401,
        discard: async (response) => {
          await response.body?.cancel().catch(() => undefined);
        },
      });
      const responseHeaders = new Headers();
      for (const [name, value] of upstream.headers) {
        if (!DROPPED_RESPONSE_HEADERS.has(name.toLowerCase())) responseHeaders.set(name, value);
      }
      return new Response(upstream.body, {
        status: upstream.status,
        statusText: upstream.statusText,
        headers: responseHeaders,
      });
    } catch (error) {
      options.machines.forgetEndpoints(row.id);
      return c.json({ error: `The machine did not answer on port ${target.port}: ${errorMessage(error)}` }, 502);
    }
  }

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(request.url ?? "/", "http://localhost");
    const target = parseProxyPath(url.pathname);
    if (!target) return false;
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    void (async () => {
      const access = await cachedAccess(headersOf(request), target);
      if (access.status === "unauthorized") return reject(401, "Unauthorized");
      if (access.status === "not_found") return reject(404, "Not Found");
      const upstream = await withEndpoint(access.access.machine, target.port, {
        perform: (endpoint) => openUpstream(endpoint, `${target.rest}${url.search}`, request),
        isUnauthorized: (result) => result.status === 401,
        discard: (result) => result.socket?.terminate(),
      });
      if (!upstream.socket) return reject(502, "Bad Gateway");
      const upstreamSocket = upstream.socket;
      wss.handleUpgrade(request, socket, head, (client) => pipeSockets(client, upstreamSocket, upstream));
    })().catch((error: unknown) => {
      options.log.warn("machine WebSocket proxy failed", { error: errorMessage(error) });
      reject(502, "Bad Gateway");
    });
    return true;
  }

  return {
    handleHttp,
    handleUpgrade,
    close() {
      // wss.close() leaves upgraded sockets open; end them so shutdown never waits on a terminal.
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

type Frame = { data: WebSocket.RawData; isBinary: boolean };
/** `early` holds frames the machine sent before the client side was upgraded (tmux draws at once). */
type UpstreamResult = { status: number; socket: WebSocket | null; early: Frame[]; stopBuffering: () => void };

function openUpstream(
  endpoint: DaemonEndpoint,
  pathAndQuery: string,
  request: IncomingMessage,
): Promise<UpstreamResult> {
  const wsUrl = `${endpoint.url.replace(/^http/, "ws")}${pathAndQuery}`;
  const protocols = request.headers["sec-websocket-protocol"]
    ?.split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  return new Promise((resolve) => {
    const upstream = new WebSocket(wsUrl, protocols, { headers: endpoint.headers, handshakeTimeout: 10_000 });
    const early: Frame[] = [];
    const buffer = (data: WebSocket.RawData, isBinary: boolean) => early.push({ data, isBinary });
    upstream.on("message", buffer);
    const stopBuffering = () => upstream.off("message", buffer);
    upstream.once("open", () => resolve({ status: 101, socket: upstream, early, stopBuffering }));
    upstream.once("unexpected-response", (_req, response) => {
      resolve({ status: response.statusCode ?? 502, socket: null, early, stopBuffering });
      upstream.terminate();
    });
    upstream.once("error", () => resolve({ status: 502, socket: null, early, stopBuffering }));
  });
}

/** Relays frames both ways, keeping text as text and binary as binary, and closes each side with the other. */
function pipeSockets(
  client: WebSocket,
  upstream: WebSocket,
  buffered: Pick<UpstreamResult, "early" | "stopBuffering">,
) {
  // Flush what arrived during the upgrade and switch to relaying in the same tick, so order is kept.
  for (const frame of buffered.early) client.send(frame.data, { binary: frame.isBinary });
  buffered.stopBuffering();
  client.on("message", (data, isBinary) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: isBinary });
  });
  upstream.on("message", (data, isBinary) => {
    if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
  });
  const closeBoth = (code?: number, reason?: Buffer) => {
    const safeCode = code && code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000;
    if (client.readyState === WebSocket.OPEN) client.close(safeCode, reason);
    if (upstream.readyState === WebSocket.OPEN) upstream.close(safeCode, reason);
  };
  client.on("close", (code, reason) => closeBoth(code, reason));
  upstream.on("close", (code, reason) => closeBoth(code, reason));
  client.on("error", () => upstream.terminate());
  upstream.on("error", () => client.terminate());
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const buffer = new Uint8Array(await request.arrayBuffer());
  if (buffer.byteLength > limit) throw new Error(`Request body over ${limit} bytes`);
  return buffer;
}
