/**
 * Parsing of request targets at the edge, before any handler runs. A malformed target (a bad `%` escape,
 * an overlong path, a segment that cannot be a slug or an id) is a 400, never an exception.
 */
export type MachineAddress = { organizationSlug: string; projectSlug: string; machineId: string };
export type ProxyTarget = MachineAddress & { port: number; rest: string };

/** Longer request targets are refused with 414 before they are parsed further. */
export const MAX_TARGET_LENGTH = 8 * 1024;

/** `/org/:org/proj/:project/:machine/proxy/:port/<rest>` */
const PROXY_PATH = /^\/org\/([^/]+)\/proj\/([^/]+)\/([^/]+)\/proxy\/([^/]+)(\/.*)?$/;
const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

export type ParsedTarget =
  { kind: "ok"; pathname: string; search: string } | { kind: "bad"; status: 400 | 414; message: string };

/** Splits a raw request target into path and query, refusing what no route could mean. */
export function parseRequestTarget(raw: string | undefined): ParsedTarget {
  const target = raw ?? "/";
  if (target.length > MAX_TARGET_LENGTH) {
    return { kind: "bad", status: 414, message: `Request target longer than ${MAX_TARGET_LENGTH} characters` };
  }
  if (!target.startsWith("/")) return { kind: "bad", status: 400, message: "Request target must be a path" };
  const queryAt = target.indexOf("?");
  return {
    kind: "ok",
    pathname: queryAt === -1 ? target : target.slice(0, queryAt),
    search: queryAt === -1 ? "" : target.slice(queryAt),
  };
}

export type ProxyPathResult = { kind: "none" } | { kind: "ok"; target: ProxyTarget } | { kind: "bad"; message: string };

/** Whether a path is a machine proxy path, and which machine and port it names. */
export function parseProxyPath(pathname: string): ProxyPathResult {
  const match = PROXY_PATH.exec(pathname);
  if (!match) return { kind: "none" };
  const [, organizationSlug = "", projectSlug = "", machineId = "", port = "", rest] = match;
  const org = slugOf(organizationSlug);
  const proj = slugOf(projectSlug);
  const machine = slugOf(machineId);
  if (!org || !proj || !machine) {
    return {
      kind: "bad",
      message: "Malformed machine proxy path: use /org/<org>/proj/<project>/<machine id>/proxy/<port>/",
    };
  }
  const portNumber = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(portNumber >= 1 && portNumber <= 65535)) {
    return { kind: "bad", message: `port: must be a number from 1 to 65535 (got "${port.slice(0, 16)}")` };
  }
  return {
    kind: "ok",
    target: { organizationSlug: org, projectSlug: proj, machineId: machine, port: portNumber, rest: rest ?? "/" },
  };
}

/** A path segment decoded, when it is a slug or an id; null otherwise. */
function slugOf(segment: string): string | null {
  const decoded = safeDecode(segment);
  return decoded !== null && SEGMENT.test(decoded) ? decoded : null;
}

function safeDecode(segment: string): string | null {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
