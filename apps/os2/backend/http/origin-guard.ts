/**
 * Cross-site request forgery guard for the dashboard origin. A preview origin can be *same-site* with the
 * dashboard (`preview.example.com` next to `app.example.com`; Chromium treats `*.localhost` names as sites
 * of their own), and then SameSite cookies do not stop a page a machine serves from sending the dashboard's
 * cookies along. Browsers always send
 * `Origin` on WebSocket handshakes and on POST/PUT/PATCH/DELETE, so a request that carries a cookie and
 * changes state (or upgrades) must come from a dashboard origin. Requests without cookies carry no ambient
 * authority (API clients send a bearer token) and pass.
 */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export type RequestFacts = { method: string; upgrade: boolean; cookie: string | undefined; origin: string | undefined };

/** Null when the request may go on; otherwise the 403 message. */
export function crossSiteRefusal(request: RequestFacts, trustedOrigins: ReadonlySet<string>): string | null {
  if (!request.cookie) return null;
  if (!request.upgrade && SAFE_METHODS.has(request.method.toUpperCase())) return null;
  if (request.origin && trustedOrigins.has(request.origin)) return null;
  return request.origin
    ? `Cross-site request refused: Origin ${request.origin} is not this dashboard.`
    : "Cross-site request refused: a request with cookies that changes state must carry the dashboard's Origin header.";
}
