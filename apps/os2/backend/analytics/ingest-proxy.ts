/**
 * The `/ingest` reverse proxy that posthog-js talks to (`api_host: "/ingest"`), so analytics requests go
 * to os2's own origin: ad blockers leave them alone and no third-party host needs a CSP entry.
 *
 * It is a narrow pipe, not a general proxy:
 * - only PostHog's ingestion, flags, replay and static paths are forwarded; anything else is 404 and never
 *   reaches PostHog;
 * - request and response headers pass through allowlists, so the os2 session cookie and any Authorization
 *   header stay on os2, and PostHog cannot set cookies on os2's origin;
 * - the client's IP goes upstream as `X-Forwarded-For`, so PostHog's GeoIP sees the user, not the server;
 * - bodies are streamed both ways (replay payloads can be large).
 *
 * Mount with `app.route("/ingest", createIngestProxy({ posthogHost }))`.
 */
import { type Context, Hono } from "hono";

import { DEFAULT_POSTHOG_HOST } from "./server-analytics.ts";

export interface IngestProxyOptions {
  /** PostHog ingestion host (`POSTHOG_HOST`). Defaults to EU ingestion. */
  posthogHost?: string;
  /**
   * Host for `/static/` and `/array/` (the JS bundles and remote config). PostHog Cloud serves them from a
   * separate assets host; derived from `posthogHost` for Cloud, and equal to it otherwise (self-hosted
   * PostHog and the test stand-in serve everything from one host).
   */
  posthogAssetsHost?: string;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /**
   * The client IP to send as X-Forwarded-For. The default reads the socket's remote address from
   * @hono/node-server's `c.env.incoming`. Behind a trusted reverse proxy, pass a getter that reads the
   * proxy's header instead; the incoming X-Forwarded-For is never trusted by default, since any client
   * can set it.
   */
  getClientIp?: (c: Context) => string | undefined;
  /** Upper bound for one upstream exchange, so a stalled PostHog cannot pin server sockets. */
  upstreamTimeoutMs?: number;
}

const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;

/**
 * The forwarded path prefixes, kept explicit so a new PostHog endpoint is a deliberate change here.
 * `assets: true` routes to the assets host.
 */
const FORWARDED_PREFIXES: readonly { prefix: string; assets: boolean }[] = [
  { prefix: "/e/", assets: false }, // posthog-js events
  { prefix: "/s/", assets: false }, // session replay snapshots
  { prefix: "/i/", assets: false }, // v0 events, logs, metrics
  { prefix: "/flags/", assets: false },
  { prefix: "/decide/", assets: false }, // older posthog-js versions' flags endpoint
  { prefix: "/batch/", assets: false }, // posthog-node, if a server ever sends through the proxy
  { prefix: "/capture/", assets: false },
  { prefix: "/static/", assets: true }, // lazy-loaded bundles such as lazy-recorder.js
  { prefix: "/array/", assets: true }, // remote config per project token
];

/**
 * Request headers PostHog needs to decode and attribute a request. Notably absent: cookie, authorization,
 * host (fetch sets it from the URL), x-forwarded-* (replaced), and accept-encoding: Node's fetch decodes
 * compressed responses itself, so asking upstream for gzip would only cost a decode and a re-send as plain.
 */
const REQUEST_HEADER_ALLOWLIST = [
  "accept",
  "accept-language",
  "content-type",
  "content-encoding",
  "content-length",
  "origin",
  "referer",
  "user-agent",
] as const;

/**
 * Response headers passed back. content-encoding and content-length are left out because fetch has already
 * decoded the body; set-cookie is left out so PostHog cannot set cookies on os2's origin.
 */
const RESPONSE_HEADER_ALLOWLIST = [
  "content-type",
  "cache-control",
  "etag",
  "last-modified",
  "expires",
  "retry-after",
] as const;

const FORWARDED_METHODS = new Set(["GET", "HEAD", "POST"]);

export function createIngestProxy(options: IngestProxyOptions = {}): Hono {
  const posthogHost = trimTrailingSlash(options.posthogHost ?? DEFAULT_POSTHOG_HOST);
  const assetsHost = trimTrailingSlash(options.posthogAssetsHost ?? deriveAssetsHost(posthogHost));
  const fetchUpstream = options.fetch ?? fetch;
  const getClientIp = options.getClientIp ?? getSocketRemoteAddress;
  const timeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;

  const app = new Hono();
  // One catch-all route: the allowlist check below is the single place that decides what is forwarded.
  app.all("/*", async (c) => {
    const path = pathBelowMount(c);
    const target = path === undefined ? undefined : FORWARDED_PREFIXES.find((p) => path.startsWith(p.prefix));
    if (path === undefined || target === undefined) return c.text("Not found", 404);
    if (!FORWARDED_METHODS.has(c.req.method)) return c.text("Method not allowed", 405);

    const search = new URL(c.req.url).search;
    const url = `${target.assets ? assetsHost : posthogHost}${path}${search}`;
    const hasBody = c.req.method === "POST";
    let upstream: Response;
    try {
      upstream = await fetchUpstream(url, {
        method: c.req.method,
        headers: forwardedRequestHeaders(c.req.raw.headers, getClientIp(c)),
        body: hasBody ? c.req.raw.body : null,
        // Required by fetch for a streamed request body; it is how the body is piped without buffering.
        ...(hasBody ? { duplex: "half" as const } : {}),
        redirect: "manual",
        signal: AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch {
      return c.text("PostHog upstream unreachable", 502);
    }
    return new Response(upstream.body, {
      status: upstream.status,
      headers: pickHeaders(upstream.headers, RESPONSE_HEADER_ALLOWLIST),
    });
  });
  return app;
}

/**
 * The request path relative to where the proxy is mounted. Hono keeps the full path in `c.req.path` for
 * mounted sub-apps, and `routePath` is `<mount>/*` for our catch-all, so the mount prefix is known without
 * configuring it twice. Returns undefined for paths that could escape the allowlist once an upstream
 * normalises them (`/e/../api/`, encoded dots or slashes, backslashes).
 */
function pathBelowMount(c: Context): string | undefined {
  const mount = c.req.routePath.replace(/\/\*$/, "");
  const path = c.req.path.slice(mount.length);
  if (!path.startsWith("/")) return undefined;
  if (/(^|\/)\.\.?(\/|$)|%2e|%2f|%5c|\\/i.test(path)) return undefined;
  return path;
}

function forwardedRequestHeaders(incoming: Headers, clientIp: string | undefined): Headers {
  const headers = pickHeaders(incoming, REQUEST_HEADER_ALLOWLIST);
  if (clientIp !== undefined && clientIp !== "") headers.set("x-forwarded-for", clientIp);
  return headers;
}

function pickHeaders(source: Headers, allowlist: readonly string[]): Headers {
  const picked = new Headers();
  for (const name of allowlist) {
    const value = source.get(name);
    if (value !== null) picked.set(name, value);
  }
  return picked;
}

/** @hono/node-server puts the Node request in `c.env.incoming`; read it defensively, env is untyped here. */
function getSocketRemoteAddress(c: Context): string | undefined {
  const env: unknown = c.env;
  if (typeof env !== "object" || env === null || !("incoming" in env)) return undefined;
  const incoming: unknown = env.incoming;
  if (typeof incoming !== "object" || incoming === null || !("socket" in incoming)) return undefined;
  const socket: unknown = incoming.socket;
  if (typeof socket !== "object" || socket === null || !("remoteAddress" in socket)) return undefined;
  const address = socket.remoteAddress;
  if (typeof address !== "string") return undefined;
  // Dual-stack sockets report IPv4 clients as `::ffff:1.2.3.4`; GeoIP wants the plain IPv4 address.
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice("::ffff:".length) : address;
}

/** PostHog Cloud: `https://eu.i.posthog.com` → `https://eu-assets.i.posthog.com` (same for `us`). */
export function deriveAssetsHost(posthogHost: string): string {
  const match = /^https:\/\/(eu|us)\.i\.posthog\.com$/.exec(posthogHost);
  return match ? `https://${match[1]}-assets.i.posthog.com` : posthogHost;
}

function trimTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
