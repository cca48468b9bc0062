/**
 * The first code every request and upgrade meets, at the Node level. It tells the two origins apart by
 * `Host`: a preview host goes to the preview door, everything else is the dashboard (the dashboard door
 * for machine proxy paths, the realtime socket, and the Hono app for the rest).
 *
 * Nothing here may throw into Node's `request`/`upgrade` listeners: a malformed target is a 400 (or 414),
 * an upgraded socket gets its `error` listener before anything is awaited, and a failure in a handler is
 * logged and answered, so one bad request can never stop the server.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

import { type DaemonRouteMatch, matchDaemonRoute } from "../http/api-v1/daemon-routes.ts";
import { headersOf } from "../http/node-headers.ts";
import { crossSiteRefusal } from "../http/origin-guard.ts";
import type { Logger } from "../logger.ts";
import type { createDashboardDoor } from "./dashboard-door.ts";
import { sendJson } from "./doors.ts";
import type { createPreviewDoor } from "./preview-door.ts";
import type { PreviewOrigin } from "./preview-origin.ts";
import { parseProxyPath, parseRequestTarget, type ProxyTarget } from "./proxy-path.ts";
import { rejectSocket } from "./relay.ts";

export type EdgeOptions = {
  previewOrigin: PreviewOrigin;
  dashboardDoor: ReturnType<typeof createDashboardDoor>;
  previewDoor: ReturnType<typeof createPreviewDoor>;
  /** Dashboard origins whose pages may send cookie-carrying state changes and upgrades. */
  trustedOrigins: ReadonlySet<string>;
  /** Other upgrades on the dashboard origin (the realtime socket); false when nothing takes it. */
  upgradeFallback(request: IncomingMessage, socket: Duplex, head: Buffer, pathname: string): boolean;
  /** The HTTP API's daemon-backed routes (/api/v1/machines/{machine}/exec…): the door target, or a refusal. */
  resolveDaemonRoute(
    headers: Headers,
    match: DaemonRouteMatch,
  ): Promise<{ target: ProxyTarget } | { status: number; message: string }>;
  log: Logger;
};

export function createEdge(options: EdgeOptions) {
  const logFailure = (error: unknown) =>
    options.log.error("a request failed at the edge", { error: String((error as Error).stack ?? error) });
  /** A handler's failure is logged and answered with a 500 (one closure per request, none on success). */
  const run = (work: Promise<void>, response: ServerResponse) => {
    work.catch((error: unknown) => {
      logFailure(error);
      sendJson(response, 500, "Internal error; it has been logged.");
    });
  };
  const runUpgrade = (work: Promise<void>, socket: Duplex) => {
    work.catch((error: unknown) => {
      logFailure(error);
      rejectSocket(socket, 500, "Internal error; it has been logged.");
    });
  };

  /** Handles preview hosts, malformed targets and the dashboard door; everything else goes to `next`. */
  function handleRequest(request: IncomingMessage, response: ServerResponse, next: () => void): void {
    const parsed = parseRequestTarget(request.url);
    if (parsed.kind === "bad") return sendJson(response, parsed.status, parsed.message);
    const preview = options.previewOrigin.match(request.headers.host);
    if (preview) {
      return run(
        options.previewDoor.handleRequest(request, response, preview, parsed.pathname, parsed.search),
        response,
      );
    }
    const daemonRoute = matchDaemonRoute(parsed.pathname);
    if (daemonRoute) {
      // Token-only (a session names no project), so no cookie rides along and no Origin check is needed.
      return run(
        options
          .resolveDaemonRoute(headersOf(request), daemonRoute)
          .then((resolved) =>
            "target" in resolved
              ? options.dashboardDoor.handleRequest(request, response, resolved.target, parsed.search)
              : sendJson(response, resolved.status, resolved.message),
          ),
        response,
      );
    }
    const proxy = parseProxyPath(parsed.pathname);
    if (proxy.kind === "bad") return sendJson(response, 400, proxy.message);
    if (proxy.kind === "none") return next();
    const refusal = crossSiteRefusal(
      {
        method: request.method ?? "GET",
        upgrade: false,
        cookie: request.headers.cookie,
        origin: request.headers.origin,
      },
      options.trustedOrigins,
    );
    if (refusal) return sendJson(response, 403, refusal);
    run(options.dashboardDoor.handleRequest(request, response, proxy.target, parsed.search), response);
  }

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Before anything else: a reset during the upgrade must end this socket, not the process.
    socket.on("error", () => socket.destroy());
    const parsed = parseRequestTarget(request.url);
    if (parsed.kind === "bad") return rejectSocket(socket, parsed.status, parsed.message);
    const preview = options.previewOrigin.match(request.headers.host);
    if (preview) {
      return runUpgrade(
        options.previewDoor.handleUpgrade(request, socket, head, preview, parsed.pathname, parsed.search),
        socket,
      );
    }
    const daemonRoute = matchDaemonRoute(parsed.pathname);
    if (daemonRoute) {
      return runUpgrade(
        options
          .resolveDaemonRoute(headersOf(request), daemonRoute)
          .then((resolved) =>
            "target" in resolved
              ? options.dashboardDoor.handleUpgrade(request, socket, head, resolved.target, parsed.search)
              : rejectSocket(socket, resolved.status, resolved.message),
          ),
        socket,
      );
    }
    const refusal = crossSiteRefusal(
      {
        method: request.method ?? "GET",
        upgrade: true,
        cookie: request.headers.cookie,
        origin: request.headers.origin,
      },
      options.trustedOrigins,
    );
    if (refusal) return rejectSocket(socket, 403, refusal);
    const proxy = parseProxyPath(parsed.pathname);
    if (proxy.kind === "bad") return rejectSocket(socket, 400, proxy.message);
    if (proxy.kind === "ok") {
      return runUpgrade(
        options.dashboardDoor.handleUpgrade(request, socket, head, proxy.target, parsed.search),
        socket,
      );
    }
    if (!options.upgradeFallback(request, socket, head, parsed.pathname)) socket.destroy();
  }

  return { handleRequest, handleUpgrade };
}
