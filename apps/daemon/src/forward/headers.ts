import { MACHINE_TOKEN_COOKIE, MACHINE_TOKEN_HEADER } from "@os2/protocol";

/**
 * Header rewriting for the forward. Headers travel as Node's raw pairs (`[name, value, name, value, …]`),
 * so names keep their case, repeated headers stay separate and order is kept.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and are never forwarded over HTTP. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"]);

function isHopByHop(lowerName: string, listedInConnection: Set<string>): boolean {
  return HOP_BY_HOP.has(lowerName) || lowerName.startsWith("proxy-") || listedInConnection.has(lowerName);
}

/** Names a `Connection` header lists (`Connection: close, X-Foo`) are hop-by-hop for that message too. */
function connectionListed(raw: readonly string[]): Set<string> {
  const listed = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() !== "connection") continue;
    for (const token of (raw[i + 1] ?? "").split(",")) {
      const name = token.trim().toLowerCase();
      if (name) listed.add(name);
    }
  }
  return listed;
}

/** One `Cookie` header without the daemon's token cookie; undefined when nothing else was in it. */
export function withoutTokenCookie(header: string): string | undefined {
  const kept = header
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part !== "" && part.split("=", 1)[0]?.trim() !== MACHINE_TOKEN_COOKIE);
  return kept.length ? kept.join("; ") : undefined;
}

/** The value of the daemon's token cookie in a `Cookie` header, URI-decoded as Hono's `setCookie` encodes it. */
export function tokenCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== MACHINE_TOKEN_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

/**
 * The request headers for the app: without the daemon credential (`X-Os2-Machine-Token`, the token
 * cookie) and, for plain HTTP, without hop-by-hop headers. An upgrade keeps `Connection` and `Upgrade`:
 * the app needs them to answer 101. Everything else, `Host` and `Authorization` included, is unchanged.
 */
export function upstreamRequestHeaders(raw: readonly string[], options: { upgrade: boolean }): string[] {
  const listed = options.upgrade ? new Set<string>() : connectionListed(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? "";
    let value = raw[i + 1] ?? "";
    const lower = name.toLowerCase();
    if (lower === MACHINE_TOKEN_HEADER) continue;
    if (!options.upgrade && isHopByHop(lower, listed)) continue;
    if (lower === "cookie") {
      const kept = withoutTokenCookie(value);
      if (kept === undefined) continue;
      value = kept;
    }
    out.push(name, value);
  }
  return out;
}

/** The app's response headers for the client, minus hop-by-hop headers (the daemon frames its own). */
export function downstreamResponseHeaders(raw: readonly string[]): string[] {
  const listed = connectionListed(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? "";
    if (!isHopByHop(name.toLowerCase(), listed)) out.push(name, raw[i + 1] ?? "");
  }
  return out;
}
