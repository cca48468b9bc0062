/**
 * The preview door: any port of a machine, HTTP and WebSocket, on that port's own preview origin
 * (`http://{port}--{machine}.localhost:<PORT>` by default; preview-origin.ts). The origin belongs to the
 * machine, so its pages, cookies and service workers are its own; the dashboard's cookies never arrive here.
 *
 * Who may enter:
 * - a browser with this preview host's own cookie, a preview session minted from a single-use ticket that
 *   the dashboard signed for one user, machine and port (`/__os2/preview-auth?ticket=…`). A browser with
 *   no cookie is sent to the dashboard, which mints a ticket and sends it back;
 * - an API client with the project's access token as `Authorization: Bearer pat_…`.
 *
 * The machine never sees either credential. A cookie-authenticated request that changes state, or any
 * upgrade, must come from a preview origin of the same machine, so a page of another machine cannot use
 * this one's cookie. Access is checked on every request and, for open sockets, every few seconds.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

import { DAEMON_PORT } from "@os2/protocol";

import type { Logger } from "../logger.ts";
import type { AccessService, Caller, MachineAccess } from "../services/access.ts";
import type { MachineService } from "../services/machines/machine-service.ts";
import { PREVIEW_SESSION_TTL_MS, type PreviewService } from "../services/previews.ts";
import {
  type AccessAnswer,
  addForwardedHeaders,
  answerOf,
  DecisionCache,
  failureOf,
  FORWARDING_HEADERS,
  logRelayFailure,
  sendJson,
} from "./doors.ts";
import type { LiveConnections } from "./live-connections.ts";
import type { PreviewOrigin, PreviewTarget } from "./preview-origin.ts";
import {
  copyRequestHeaders,
  HOP_BY_HOP,
  rejectSocket,
  RelayError,
  relayHttp,
  relayUpgrade,
  type ResponsePolicy,
  websocketHandshakeHeaders,
} from "./relay.ts";

export const PREVIEW_COOKIE = "os2_preview";
export const PREVIEW_AUTH_PATH = "/__os2/preview-auth";
/** On the dashboard: where a preview without a cookie sends the browser to get a ticket. */
export const PREVIEW_OPEN_PATH = "/api/previews/open";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** The client's credentials and forwarding claims never pass; `host` only where the endpoint wants the public one. */
const DROPPED_KEEP_HOST = new Set(["cookie", "authorization", ...FORWARDING_HEADERS]);
const DROPPED_WITH_HOST = new Set([...DROPPED_KEEP_HOST, "host"]);

export type PreviewDoorOptions = {
  access: AccessService;
  previews: PreviewService;
  machines: MachineService;
  live: LiveConnections;
  origin: PreviewOrigin;
  log: Logger;
  dashboardUrl: URL;
  trustProxy: boolean;
};

type Credential = { kind: "token"; value: string } | { kind: "cookie"; value: string } | { kind: "none" };

function credentialOf(request: IncomingMessage): Credential {
  const authorization = request.headers.authorization ?? "";
  const bearer = /^Bearer\s+(pat_\S+)$/i.exec(authorization)?.[1];
  if (bearer) return { kind: "token", value: bearer };
  const cookie = readCookie(request.headers.cookie, PREVIEW_COOKIE);
  return cookie ? { kind: "cookie", value: cookie } : { kind: "none" };
}

function readCookie(header: string | undefined, name: string): string | null {
  if (!header?.includes(name)) return null;
  for (const part of header.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=") || null;
  }
  return null;
}

/** The Cookie header without os2's own preview cookie: the machine's app keeps its own cookies. */
function withoutPreviewCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  if (!header.includes(PREVIEW_COOKIE)) return header;
  const kept = header
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part && part.split("=")[0] !== PREVIEW_COOKIE);
  return kept.length > 0 ? kept.join("; ") : undefined;
}

/**
 * The machine's own headers pass, but its cookies stay on its own host (a `Domain=` would reach sibling
 * hosts, the dashboard's among them) and can never replace os2's preview cookie.
 */
export const previewPolicy: ResponsePolicy = ({ status, headers }) => {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (
      value === undefined ||
      (HOP_BY_HOP.has(name) && !(status === 101 && (name === "upgrade" || name === "connection")))
    )
      continue;
    if (name === "set-cookie") {
      const cookies = (Array.isArray(value) ? value : [value])
        .filter((cookie) => cookie.split("=")[0]?.trim() !== PREVIEW_COOKIE)
        .map((cookie) => cookie.replace(/;\s*domain=[^;]*/gi, ""));
      if (cookies.length > 0) out[name] = cookies;
      continue;
    }
    out[name] = value;
  }
  return { status, headers: out };
};

export function createPreviewDoor(options: PreviewDoorOptions) {
  const cache = new DecisionCache(options.access.cacheMs);
  // A change made here (a removed member, a revoked token's project) holds for the door from the next request.
  options.access.onForget(() => cache.clear());

  async function callerOf(credential: Credential, target: PreviewTarget): Promise<Caller> {
    if (credential.kind === "token") {
      return options.access.identify(new Headers({ authorization: `Bearer ${credential.value}` }));
    }
    if (credential.kind === "cookie") {
      return (await options.previews.sessionCaller(credential.value, target)) ?? { kind: "anonymous" };
    }
    return { kind: "anonymous" };
  }

  const decide = (credential: Credential, target: PreviewTarget): Promise<AccessAnswer> =>
    answerOf(async () => options.access.machineById(await callerOf(credential, target), target.machineId));

  const keyOf = (credential: Credential, target: PreviewTarget) =>
    `preview\n${credential.kind}:${credential.kind === "none" ? "" : credential.value}\n${target.machineId}:${target.port}`;

  /**
   * Cookie-authenticated state changes and upgrades must come from this machine's own preview origins: an
   * app's frontend on one port may call its API on another. The daemon's port is stricter, since it runs
   * commands: only its own origin, so an injected script in some app of the machine cannot drive the daemon.
   */
  function crossSiteRefusal(
    request: IncomingMessage,
    credential: Credential,
    target: PreviewTarget,
    upgrade: boolean,
  ): string | null {
    if (credential.kind !== "cookie") return null;
    if (!upgrade && SAFE_METHODS.has(request.method ?? "GET")) return null;
    const origin = request.headers.origin;
    const allowed =
      target.port === DAEMON_PORT
        ? origin === options.origin.urlFor(target.machineId, target.port)
        : origin !== undefined && options.origin.isOriginOfMachine(origin, target.machineId);
    if (allowed) return null;
    return `Cross-site request refused: ${origin ? `Origin ${origin}` : "a request without Origin"} may not use this preview's cookie.`;
  }

  function requestHeaders(
    request: IncomingMessage,
    credential: Credential,
    forwardsHost: boolean,
  ): OutgoingHttpHeaders {
    const headers = copyRequestHeaders(request.headers, forwardsHost ? DROPPED_KEEP_HOST : DROPPED_WITH_HOST);
    const cookie = withoutPreviewCookie(request.headers.cookie);
    if (cookie) headers.cookie = cookie;
    // The client's own Authorization (Basic auth of the app, say) passes; os2's access token does not.
    const authorization = request.headers.authorization;
    if (authorization && credential.kind !== "token") headers.authorization = authorization;
    return addForwardedHeaders(
      headers,
      request,
      request.headers.host ?? "",
      options.origin.secure ? "https:" : "http:",
      options.trustProxy,
    );
  }

  /** A browser without this host's cookie goes to the dashboard, which mints a ticket and sends it back. */
  function sendToDashboard(response: ServerResponse, target: PreviewTarget, pathAndQuery: string) {
    const url = new URL(PREVIEW_OPEN_PATH, options.dashboardUrl);
    url.searchParams.set("machineId", target.machineId);
    url.searchParams.set("port", String(target.port));
    url.searchParams.set("path", pathAndQuery);
    response.writeHead(302, { location: url.href, "cache-control": "no-store" });
    response.end();
  }

  async function redeem(response: ServerResponse, target: PreviewTarget, search: string) {
    const params = new URLSearchParams(search);
    const next = safeNext(params.get("next"));
    const session = await options.previews.redeemTicket(params.get("ticket") ?? "", target).catch(() => null);
    if (!session) {
      return sendJson(
        response,
        403,
        "This preview link has expired or was already used. Open the preview again from the dashboard.",
      );
    }
    const cookie = [
      `${PREVIEW_COOKIE}=${session.token}`,
      "Path=/",
      "HttpOnly",
      "SameSite=Lax",
      `Max-Age=${Math.floor(PREVIEW_SESSION_TTL_MS / 1000)}`,
      ...(options.origin.secure ? ["Secure"] : []),
    ].join("; ");
    response.writeHead(302, {
      location: next,
      "set-cookie": cookie,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
    });
    response.end();
  }

  type Admission =
    | { ok: false; status: number; message: string; anonymous: boolean }
    | { ok: true; credential: Credential; key: string; access: MachineAccess };

  /** Synchronous when the decision is cached (the hot path), a promise when the services must be asked. */
  function admit(request: IncomingMessage, target: PreviewTarget, upgrade: boolean): Admission | Promise<Admission> {
    const credential = credentialOf(request);
    const refusal = crossSiteRefusal(request, credential, target, upgrade);
    if (refusal) return { ok: false, status: 403, message: refusal, anonymous: false };
    if (credential.kind === "none") {
      const message = "Open this preview from the os2 dashboard, or send a project access token as Bearer.";
      return { ok: false, status: 401, message, anonymous: true };
    }
    const key = keyOf(credential, target);
    const hit = cache.peek(key);
    if (hit) return admission(hit, credential, key);
    return cache.get(key, () => decide(credential, target)).then((answer) => admission(answer, credential, key));
  }

  function admission(answer: AccessAnswer, credential: Credential, key: string): Admission {
    if (answer.status === "unauthorized") {
      const message = "Your preview session has ended. Open the preview again from the dashboard.";
      return { ok: false, status: 401, message, anonymous: true };
    }
    if (answer.status === "not_found")
      return { ok: false, status: 404, message: "Machine not found", anonymous: false };
    return { ok: true, credential, key, access: answer.access };
  }

  async function handleRequest(
    request: IncomingMessage,
    response: ServerResponse,
    target: PreviewTarget,
    pathname: string,
    search: string,
  ) {
    if (pathname === PREVIEW_AUTH_PATH) return redeem(response, target, search);
    const admitting = admit(request, target, false);
    const admitted = admitting instanceof Promise ? await admitting : admitting;
    if (!admitted.ok) {
      const wantsPage = request.method === "GET" && /text\/html/.test(request.headers.accept ?? "");
      if (admitted.anonymous && wantsPage) return sendToDashboard(response, target, `${pathname}${search}`);
      return sendJson(response, admitted.status, admitted.message);
    }
    const row = admitted.access.machine;
    const untrack = options.live.add({
      key: admitted.key,
      stillAllowed: async () => (await decide(admitted.credential, target)).status === "ok",
      // Destroying the client's side ends the machine's too (see relayHttp).
      close: () => response.destroy(),
    });
    response.once("close", untrack);
    try {
      const endpoint = await options.machines.openEndpoint(row, target.port);
      await relayHttp(request, response, {
        endpoint,
        pathAndQuery: search ? `${pathname}${search}` : pathname,
        requestHeaders: requestHeaders(request, admitted.credential, endpoint.forwardsHost === true),
        policy: previewPolicy,
      });
    } catch (error) {
      if (!(error instanceof RelayError)) options.machines.forgetEndpoints(row.id);
      logRelayFailure(options.log, "preview door", row.id, error);
      const failure = failureOf(error, target.port);
      sendJson(response, failure.status, failure.message);
    }
  }

  async function handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: PreviewTarget,
    pathname: string,
    search: string,
  ) {
    const admitting = admit(request, target, true);
    const admitted = admitting instanceof Promise ? await admitting : admitting;
    if (!admitted.ok) return rejectSocket(socket, admitted.status, admitted.message);
    const row = admitted.access.machine;
    try {
      const endpoint = await options.machines.openEndpoint(row, target.port);
      const close = await relayUpgrade(request, socket, head, {
        endpoint,
        pathAndQuery: `${pathname}${search}`,
        requestHeaders: {
          ...requestHeaders(request, admitted.credential, endpoint.forwardsHost === true),
          ...websocketHandshakeHeaders(request.headers),
        },
        policy: previewPolicy,
      });
      const untrack = options.live.add({
        key: admitted.key,
        stillAllowed: async () => (await decide(admitted.credential, target)).status === "ok",
        close,
      });
      socket.once("close", untrack);
    } catch (error) {
      logRelayFailure(options.log, "preview door", row.id, error);
      const failure = failureOf(error, target.port);
      rejectSocket(socket, failure.status, failure.message);
    }
  }

  return { handleRequest, handleUpgrade };
}

/** Only a path on the same host: never `//evil.example` or a full URL. */
function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next.slice(0, 4096);
}
