/**
 * The dashboard door: `/org/:org/proj/:project/:machine/proxy/3000/*` on the dashboard's own origin, for
 * the dashboard's calls to the daemon (terminal, exec, files, agents, logs). Because it shares the
 * dashboard's origin, nothing a machine sends through it may ever be executed or stored as the dashboard's:
 *
 * - only the daemon's port; every other port lives on its own preview origin (preview-door.ts);
 * - only JSON and NDJSON responses (and WebSocket frames after a 101); anything else is refused with 502;
 * - only a short allowlist of response headers: never Set-Cookie, Service-Worker-Allowed, Location or CORS;
 * - every response carries `Content-Security-Policy: sandbox; default-src 'none'` and `nosniff`.
 *
 * The caller's cookie and authorization never reach the machine; the door adds the daemon's credential.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

import { CLAIM_PATH, DAEMON_PORT, EXEC_MAX_TIMEOUT_MS } from "@os2/protocol";

import { headersOf } from "../http/node-headers.ts";
import type { Logger } from "../logger.ts";
import type { AccessService } from "../services/access.ts";
import type { MachineService } from "../services/machines/machine-service.ts";
import {
  addForwardedHeaders,
  answerOf,
  DecisionCache,
  failureOf,
  FORWARDING_HEADERS,
  logRelayFailure,
  sendJson,
} from "./doors.ts";
import type { LiveConnections } from "./live-connections.ts";
import type { ProxyTarget } from "./proxy-path.ts";
import {
  copyRequestHeaders,
  rejectSocket,
  RelayError,
  relayHttp,
  relayUpgrade,
  type ResponsePolicy,
  websocketHandshakeHeaders,
} from "./relay.ts";

const CONTROL_PLANE_ROUTES = new Set([CLAIM_PATH, "/api/env"]);
/**
 * A buffered exec answers only when its command ends, which may take up to the daemon's own limit; the
 * daemon enforces the command's timeout, so the door waits as long.
 */
const EXEC_HEAD_TIMEOUT_MS = EXEC_MAX_TIMEOUT_MS + 60_000;
const CONTROL_PLANE_ONLY =
  "Only os2 itself calls this daemon route (a machine's claim and environment); set env vars in the project or machine settings.";

/** A path without dots, escapes or backslashes: normalized without a URL parse. */
const PLAIN_PATH = /^\/[A-Za-z0-9/_-]*$/;

/** The path as the daemon routes it: dots resolved, escapes decoded, slashes collapsed, case and trailing slash ignored. */
export function normalizedDaemonPath(rest: string): string {
  // Most paths have nothing to resolve or decode: only the slashes and the case to settle.
  if (PLAIN_PATH.test(rest))
    return rest
      .replace(/\/{2,}/g, "/")
      .replace(/(.)\/+$/, "$1")
      .toLowerCase();
  // Leading `//` would read as a host, and URLs take `\\` for `/`: collapse both first.
  let path = `/${rest.replace(/[/\\]+/g, "/").replace(/^\//, "")}`;
  try {
    path = new URL(path, "http://daemon.invalid").pathname;
  } catch {
    // Kept as given: the comparison below still applies.
  }
  try {
    path = decodeURIComponent(path);
  } catch {
    // A malformed escape: compared undecoded.
  }
  return path.replace(/\/+/g, "/").replace(/\/+$/, "").toLowerCase() || "/";
}

export const DASHBOARD_SECURITY_HEADERS: OutgoingHttpHeaders = {
  "content-security-policy": "sandbox; default-src 'none'",
  "x-content-type-options": "nosniff",
  "cross-origin-resource-policy": "same-origin",
  "referrer-policy": "no-referrer",
};

const DROPPED_REQUEST_HEADERS = new Set([
  "host",
  "cookie",
  "authorization",
  "origin",
  "referer",
  ...FORWARDING_HEADERS,
]);
const PASSED_RESPONSE_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "cache-control",
  "etag",
  "last-modified",
  "vary",
  "date",
];
const PASSED_UPGRADE_HEADERS = [
  "upgrade",
  "connection",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "sec-websocket-extensions",
];
const DAEMON_CONTENT_TYPES = /^application\/(json|x-ndjson)\s*(;|$)/i;

function pick(
  headers: IncomingHttpHeaders,
  names: readonly string[],
  out: OutgoingHttpHeaders = {},
): OutgoingHttpHeaders {
  for (const name of names) if (headers[name] !== undefined) out[name] = headers[name];
  return out;
}

/** What of the daemon's answer may reach the dashboard origin. */
export const dashboardPolicy: ResponsePolicy = ({ status, headers }) => {
  if (status === 101) return { status, headers: pick(headers, PASSED_UPGRADE_HEADERS) };
  const type = headers["content-type"];
  const empty = status === 204 || status === 304 || headers["content-length"] === "0";
  if (!empty && (type === undefined || !DAEMON_CONTENT_TYPES.test(type))) {
    return {
      refuse:
        `the machine answered with ${type ? `"${type.slice(0, 80)}"` : "no content type"}; the dashboard's route ` +
        "to a machine passes only the daemon's JSON and NDJSON. Open web content through the machine's preview URL.",
    };
  }
  return { status, headers: pick(headers, PASSED_RESPONSE_HEADERS, { ...DASHBOARD_SECURITY_HEADERS }) };
};

export type DashboardDoorOptions = {
  access: AccessService;
  machines: MachineService;
  live: LiveConnections;
  log: Logger;
  publicUrl: URL;
  trustProxy: boolean;
  /** Where a non-daemon port is opened instead. */
  previewUrlFor(machineId: string, port: number): string;
};

export function createDashboardDoor(options: DashboardDoorOptions) {
  const cache = new DecisionCache(options.access.cacheMs);
  // A change made here (a removed member, a sign-out) holds for the door from the next request too.
  options.access.onForget(() => cache.clear());
  // Read once: a URL's getters build a new string on every read.
  const publicHost = options.publicUrl.host;
  const publicProtocol = options.publicUrl.protocol;

  const decide = (headers: Headers, target: ProxyTarget) =>
    answerOf(async () => options.access.machine(await options.access.identify(headers), target));

  /** What identifies the caller: its authorization, else its cookies (the session). */
  const credentialOf = (request: IncomingMessage) => request.headers.authorization ?? request.headers.cookie ?? "";

  const accessKey = (credential: string, target: ProxyTarget) =>
    `${credential}\n${target.organizationSlug}/${target.projectSlug}/${target.machineId}`;

  /** A fresh decision, then reused for a moment; the Fetch headers are built only when the service is asked. */
  const cachedAccess = (request: IncomingMessage, key: string, target: ProxyTarget) =>
    cache.get(key, () => decide(headersOf(request), target));

  function requestHeaders(request: IncomingMessage): OutgoingHttpHeaders {
    return addForwardedHeaders(
      copyRequestHeaders(request.headers, DROPPED_REQUEST_HEADERS),
      request,
      publicHost,
      publicProtocol,
      options.trustProxy,
    );
  }

  /**
   * The daemon routes only the control plane calls: the claim of a warm-pool machine and the machine's
   * environment. A user relaying them could re-claim a machine or rewrite its environment behind os2's back.
   */
  function controlPlaneOnly(target: ProxyTarget): boolean {
    return CONTROL_PLANE_ROUTES.has(normalizedDaemonPath(target.rest));
  }

  function onlyDaemonPort(target: ProxyTarget): string | null {
    if (target.port === DAEMON_PORT) return null;
    return `The dashboard reaches only the daemon (port ${DAEMON_PORT}) this way. Open port ${target.port} at its preview URL: ${options.previewUrlFor(target.machineId, target.port)}/`;
  }

  async function handleRequest(
    request: IncomingMessage,
    response: ServerResponse,
    target: ProxyTarget,
    search: string,
  ) {
    const refusal = onlyDaemonPort(target);
    if (refusal) return sendJson(response, 404, refusal, DASHBOARD_SECURITY_HEADERS);
    if (controlPlaneOnly(target)) return sendJson(response, 403, CONTROL_PLANE_ONLY, DASHBOARD_SECURITY_HEADERS);
    const credential = credentialOf(request);
    const key = accessKey(credential, target);
    const answer = cache.peek(key) ?? (await cachedAccess(request, key, target));
    if (answer.status === "unauthorized")
      return sendJson(response, 401, "Sign in, or send a project access token as Bearer.", DASHBOARD_SECURITY_HEADERS);
    if (answer.status === "not_found") return sendJson(response, 404, "Machine not found", DASHBOARD_SECURITY_HEADERS);
    const row = answer.access.machine;

    const untrack = options.live.add({
      key: `dashboard\n${credential}\n${row.id}`,
      stillAllowed: async () => (await decide(headersOf(request), target)).status === "ok",
      // Destroying the client's side ends the machine's too (see relayHttp).
      close: () => response.destroy(),
    });
    response.once("close", untrack);
    try {
      const endpoint = await options.machines.openEndpoint(row, target.port);
      await relayHttp(request, response, {
        endpoint,
        pathAndQuery: search ? `${target.rest}${search}` : target.rest,
        requestHeaders: requestHeaders(request),
        policy: dashboardPolicy,
        headTimeoutMs: target.rest === "/api/exec" ? EXEC_HEAD_TIMEOUT_MS : undefined,
      });
    } catch (error) {
      if (!(error instanceof RelayError)) options.machines.forgetEndpoints(row.id);
      logRelayFailure(options.log, "dashboard door", row.id, error);
      const failure = failureOf(error, target.port);
      sendJson(response, failure.status, failure.message, DASHBOARD_SECURITY_HEADERS);
    }
  }

  async function handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: ProxyTarget,
    search: string,
  ) {
    const refusal = onlyDaemonPort(target);
    if (refusal) return rejectSocket(socket, 404, refusal);
    if (controlPlaneOnly(target)) return rejectSocket(socket, 403, CONTROL_PLANE_ONLY);
    const credential = credentialOf(request);
    const key = accessKey(credential, target);
    const answer = cache.peek(key) ?? (await cachedAccess(request, key, target));
    if (answer.status === "unauthorized")
      return rejectSocket(socket, 401, "Sign in, or send a project access token as Bearer.");
    if (answer.status === "not_found") return rejectSocket(socket, 404, "Machine not found");
    const row = answer.access.machine;
    try {
      const endpoint = await options.machines.openEndpoint(row, target.port);
      const close = await relayUpgrade(request, socket, head, {
        endpoint,
        pathAndQuery: `${target.rest}${search}`,
        requestHeaders: { ...requestHeaders(request), ...websocketHandshakeHeaders(request.headers) },
        policy: dashboardPolicy,
      });
      const untrack = options.live.add({
        key: `dashboard\n${credential}\n${row.id}`,
        stillAllowed: async () => (await decide(headersOf(request), target)).status === "ok",
        close,
      });
      socket.once("close", untrack);
    } catch (error) {
      logRelayFailure(options.log, "dashboard door", row.id, error);
      const failure = failureOf(error, target.port);
      rejectSocket(socket, failure.status, failure.message);
    }
  }

  return { handleRequest, handleUpgrade };
}
