import { Agent, type ClientRequest, type IncomingMessage, request, type ServerResponse, STATUS_CODES } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";

import { FORWARD_PATH_PREFIX, forwardPortSchema, MACHINE_TOKEN_HEADER } from "@os2/protocol";
import { z } from "zod";

import { type MachineTokenCheck, machineTokenCheck, tokenNotSetError } from "../http/auth";
import { errorBody, HttpError, parseOrThrow } from "../http/errors";
import { downstreamResponseHeaders, tokenCookie, upstreamRequestHeaders } from "./headers";

/**
 * `/api/forward/:port/…`: any port of the machine through the daemon's one published port, at the Node
 * server level (Hono's fetch layer would buffer and cannot hand over a socket). Plain HTTP is piped both
 * ways with backpressure over keep-alive connections to the app; an `Upgrade` (WebSocket) is spliced at the
 * TCP level after the credential is checked. The daemon never looks at content: the control plane decides
 * what each origin may receive.
 */
export type Forwarder = {
  /** Whether a request target belongs to the forward (and so must not reach the Hono app). */
  matches: (url: string | undefined) => url is string;
  handleRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** `socket` must already have an `error` listener (the server's upgrade dispatcher adds one). */
  handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Closes the idle keep-alive connections to the apps. */
  close: () => void;
};

/**
 * Where apps are looked for, in order. Many dev servers (Vite on `localhost`) bind only `::1`, so a refused
 * IPv4 connection is retried once on IPv6 before the forward reports that nothing listens.
 */
const UPSTREAM_HOSTS = ["127.0.0.1", "::1"] as const;
/** Errors that mean "not on this address", worth trying the next one. */
const NOT_HERE = new Set(["ECONNREFUSED", "EADDRNOTAVAIL", "EAFNOSUPPORT", "ENETUNREACH", "EHOSTUNREACH"]);
/** Errors of a kept-alive connection that the app closed while we reused it: retry once on a fresh one. */
const STALE_KEEPALIVE = new Set(["ECONNRESET", "EPIPE"]);
/** How long an idle upstream connection is kept; under Node's default 5 s server keep-alive timeout. */
const IDLE_UPSTREAM_MS = 4000;
/** After one side of a splice closed, how long the other may take to flush before it is destroyed. */
const SPLICE_FLUSH_MS = 10_000;

const targetSchema = z.object({ port: forwardPortSchema });
type Target = { port: number; path: string };

export function createForwarder(options: { authToken: string | undefined | MachineTokenCheck }): Forwarder {
  const check = typeof options.authToken === "object" ? options.authToken : machineTokenCheck(options.authToken);
  const agent = new Agent({ keepAlive: true, timeout: IDLE_UPSTREAM_MS, scheduling: "lifo" });

  /** The credential error, if any: the forward accepts only `X-Os2-Machine-Token` or the token cookie. */
  function credentialError(req: IncomingMessage): HttpError | undefined {
    if (!check.configured) return tokenNotSetError();
    const header = req.headers[MACHINE_TOKEN_HEADER];
    const headerToken = Array.isArray(header) ? header[0] : header;
    if (check.matches(headerToken)) return undefined;
    const cookie = tokenCookie(req.headers.cookie);
    if (check.matches(cookie)) return undefined;
    return new HttpError(
      401,
      "unauthorized",
      headerToken === undefined && cookie === undefined
        ? "missing credential: send X-Os2-Machine-Token: <MACHINE_AUTH_TOKEN> (on the forward, Authorization and ?token= belong to the app)"
        : "wrong MACHINE_AUTH_TOKEN",
    );
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    let upstream: ClientRequest | undefined;
    // The client went away (reset, or closed before the answer ended): drop the app's side too.
    req.on("error", () => upstream?.destroy());
    res.on("error", () => upstream?.destroy());
    res.on("close", () => {
      if (!res.writableFinished) upstream?.destroy();
    });
    let target: Target;
    try {
      const denied = credentialError(req);
      if (denied) throw denied;
      target = parseTarget(req.url ?? "");
    } catch (error) {
      sendError(res, asHttpError(error));
      return;
    }
    const { port, path } = target;
    const headers = upstreamRequestHeaders(req.rawHeaders, { upgrade: false });
    // Transfer-Encoding is hop-by-hop, but a body of unknown length must stay chunked on the way to the app.
    const chunked = req.headers["transfer-encoding"] !== undefined;
    if (chunked) headers.push("Transfer-Encoding", "chunked");
    const hasBody = chunked || (req.headers["content-length"] ?? "0") !== "0";

    const attempt = (hostIndex: number, isRetry: boolean) => {
      let bodyStarted = false;
      let responded = false;
      const current = request({
        agent,
        host: UPSTREAM_HOSTS[hostIndex],
        port,
        method: req.method,
        path,
        headers,
      });
      upstream = current;
      current.on("socket", (socket: Socket) => {
        socket.setNoDelay(true);
        if (!hasBody) return;
        // Pipe the body only once connected: a refused connection can then be retried on the next address
        // with the body still unread.
        const startBody = () => {
          bodyStarted = true;
          req.pipe(current);
        };
        if (socket.connecting) socket.once("connect", startBody);
        else startBody();
      });
      if (!hasBody) current.end();
      current.on("response", (upstreamRes) => {
        responded = true;
        upstreamRes.on("error", () => res.destroy());
        // Ended early (the app died mid-body): the client must see a broken response, not a short one.
        upstreamRes.on("close", () => {
          if (!upstreamRes.complete) res.destroy();
        });
        if (res.destroyed) {
          upstreamRes.destroy();
          return;
        }
        res.sendDate = false; // the app's Date (or none), not ours
        res.writeHead(
          upstreamRes.statusCode ?? 502,
          upstreamRes.statusMessage ?? "",
          downstreamResponseHeaders(upstreamRes.rawHeaders),
        );
        upstreamRes.pipe(res);
      });
      current.on("error", (error: NodeJS.ErrnoException) => {
        if (responded || res.headersSent) {
          res.destroy();
          return;
        }
        if (res.destroyed) return;
        const code = error.code ?? "";
        if (!bodyStarted && NOT_HERE.has(code) && hostIndex + 1 < UPSTREAM_HOSTS.length) {
          attempt(hostIndex + 1, isRetry);
          return;
        }
        if (!bodyStarted && !hasBody && !isRetry && current.reusedSocket && STALE_KEEPALIVE.has(code)) {
          attempt(hostIndex, true);
          return;
        }
        if (bodyStarted) req.unpipe(current);
        sendError(res, badGateway(port, error));
      });
    };
    attempt(0, false);
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let upstream: Socket | undefined;
    socket.on("error", () => upstream?.destroy());
    let target: Target;
    try {
      const denied = credentialError(req);
      if (denied) throw denied;
      target = parseTarget(req.url ?? "");
    } catch (error) {
      writeRawError(socket, asHttpError(error));
      return;
    }
    const { port, path } = target;
    const headers = upstreamRequestHeaders(req.rawHeaders, { upgrade: true });
    let requestHead = `${req.method ?? "GET"} ${path} HTTP/${req.httpVersion}\r\n`;
    for (let i = 0; i < headers.length; i += 2) requestHead += `${headers[i]}: ${headers[i + 1]}\r\n`;
    requestHead += "\r\n";

    const attempt = (hostIndex: number) => {
      let connected = false;
      const current = connect({ host: UPSTREAM_HOSTS[hostIndex], port, noDelay: true });
      upstream = current;
      current.on("error", (error: NodeJS.ErrnoException) => {
        if (connected) {
          socket.destroy();
          return;
        }
        if (socket.destroyed) return;
        if (NOT_HERE.has(error.code ?? "") && hostIndex + 1 < UPSTREAM_HOSTS.length) {
          attempt(hostIndex + 1);
          return;
        }
        writeRawError(socket, badGateway(port, error));
      });
      current.once("connect", () => {
        connected = true;
        if (socket.destroyed) {
          current.destroy();
          return;
        }
        current.write(requestHead);
        if (head.length) current.write(head);
        // From here on the bytes are the app's and the client's; the daemon only relays them.
        socket.pipe(current);
        current.pipe(socket);
        current.on("close", () => closeAfterFlush(socket));
        socket.on("close", () => closeAfterFlush(current));
      });
    };
    socket.on("close", () => {
      if (upstream?.connecting) upstream.destroy();
    });
    attempt(0);
  }

  return {
    matches: (url): url is string =>
      url !== undefined &&
      url.startsWith(FORWARD_PATH_PREFIX) &&
      (url.length === FORWARD_PATH_PREFIX.length || "/?".includes(url.charAt(FORWARD_PATH_PREFIX.length))),
    handleRequest,
    handleUpgrade,
    close: () => agent.destroy(),
  };
}

/** `/api/forward/5173/src/x?y=1` → port 5173, path `/src/x?y=1`; `/api/forward/5173?y=1` → `/?y=1`. */
export function parseTarget(url: string): Target {
  const rest = url.slice(FORWARD_PATH_PREFIX.length);
  if (!rest.startsWith("/")) {
    throw new HttpError(
      400,
      "bad_request",
      `port: missing; use ${FORWARD_PATH_PREFIX}/<port>/<path> (an integer from 1 to 65535)`,
      "port",
    );
  }
  const end = rest.slice(1).search(/[/?]/);
  const segment = end < 0 ? rest.slice(1) : rest.slice(1, end + 1);
  const path = end < 0 ? "/" : rest.slice(end + 1);
  const { port } = parseOrThrow(targetSchema, { port: segment }, "port");
  return { port, path: path.startsWith("/") ? path : `/${path}` };
}

function badGateway(port: number, error: NodeJS.ErrnoException): HttpError {
  const code = error.code ?? error.message;
  const message = NOT_HERE.has(error.code ?? "")
    ? `Nothing is listening on port ${port} inside the machine (127.0.0.1:${port} or [::1]:${port}).`
    : code.startsWith("HPE_")
      ? `Port ${port} inside the machine answered with something that is not HTTP (${code}).`
      : `Port ${port} inside the machine closed the connection before answering (${code}).`;
  return new HttpError(502, "bad_gateway", message);
}

function asHttpError(error: unknown): HttpError {
  return error instanceof HttpError ? error : new HttpError(500, "internal", String(error));
}

function sendError(res: ServerResponse, error: HttpError): void {
  if (res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(error));
  res.writeHead(error.status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** An answer to an upgrade request that will not be spliced: a plain HTTP response, then the socket ends. */
function writeRawError(socket: Duplex, error: HttpError): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(error));
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ""}\r\n` +
      "Content-Type: application/json; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}

/** Ends a spliced socket once its peer is gone, letting queued bytes out first, but never waits forever. */
function closeAfterFlush(socket: Duplex): void {
  if (socket.destroyed) return;
  if (socket.writableFinished) {
    socket.destroy();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), SPLICE_FLUSH_MS).unref();
  socket.once("close", () => clearTimeout(timer));
  socket.once("finish", () => socket.destroy());
  socket.end();
}
