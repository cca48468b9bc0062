/**
 * What both doors into a machine share: who the caller is and whether they may reach the machine (asked
 * of the access service, reused for a moment so a burst of requests costs one lookup), the headers a door
 * sets for the machine, and the answers a door gives when it cannot let a request through.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";

import { apiErrorCodeFor } from "@os2/protocol";

import type { Logger } from "../logger.ts";
import type { MachineAccess } from "../services/access.ts";
import { asDomainError } from "../services/errors.ts";
import { errorMessage } from "../services/machines/machine-service.ts";
import { RelayError } from "./relay.ts";

/**
 * Access decisions are reused for as long as the access service reuses its answers (OS2_ACCESS_CACHE_MS);
 * open connections are re-checked on their own schedule. Beyond this many decisions the cache starts again.
 */
const MAX_CACHED_DECISIONS = 2_000;

export type AccessAnswer =
  { status: "ok"; access: MachineAccess } | { status: "unauthorized" } | { status: "not_found" };

/** Turns the access service's refusals into answers a door can give; anything else is a real failure. */
export async function answerOf(decide: () => Promise<MachineAccess>): Promise<AccessAnswer> {
  try {
    return { status: "ok", access: await decide() };
  } catch (error) {
    const kind = asDomainError(error)?.kind;
    if (kind === "unauthorized") return { status: "unauthorized" };
    if (kind === "not_found") return { status: "not_found" };
    throw error;
  }
}

/** A door's access decisions, kept for `ttlMs` and forgotten with the access service's answers. */
export class DecisionCache {
  private readonly entries = new Map<string, { expires: number; answer: AccessAnswer }>();
  /** Counts clears: a decision asked for before the last one was made from what it forgot, and is not kept. */
  private generation = 0;

  constructor(private readonly ttlMs: number) {}

  /** The answer still fresh for `key`, without a promise: a door's hot path stays synchronous on a hit. */
  peek(key: string): AccessAnswer | undefined {
    const hit = this.entries.get(key);
    return hit && hit.expires > Date.now() ? hit.answer : undefined;
  }

  /** Forgets every decision (the access service forgot what they were made from). */
  clear(): void {
    this.entries.clear();
    this.generation++;
  }

  async get(key: string, decide: () => Promise<AccessAnswer>): Promise<AccessAnswer> {
    const hit = this.entries.get(key);
    if (hit && hit.expires > Date.now()) return hit.answer;
    const asked = this.generation;
    const answer = await decide();
    if (answer.status === "ok" && asked === this.generation && this.ttlMs > 0) {
      if (this.entries.size > MAX_CACHED_DECISIONS) this.entries.clear();
      this.entries.set(key, { expires: Date.now() + this.ttlMs, answer });
    }
    return answer;
  }
}

/** Client-sent forwarding headers are never passed on; the door states them itself. */
export const FORWARDING_HEADERS = [
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-real-ip",
];

/** Sets the forwarding headers on `headers` (the request headers a door is building) and returns it. */
export function addForwardedHeaders(
  headers: OutgoingHttpHeaders,
  request: IncomingMessage,
  publicHost: string,
  publicProtocol: string,
  trustProxy: boolean,
): OutgoingHttpHeaders {
  const claimed = trustProxy
    ? String(request.headers["x-forwarded-for"] ?? "")
        .split(",")[0]
        ?.trim()
    : "";
  headers["x-forwarded-for"] = claimed || socketAddressOf(request);
  headers["x-forwarded-host"] = publicHost;
  headers["x-forwarded-proto"] = publicProtocol.endsWith(":") ? publicProtocol.slice(0, -1) : publicProtocol;
  return headers;
}

function socketAddressOf(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? "";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

export function sendJson(
  response: ServerResponse,
  status: number,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  // The one error shape of os2's HTTP answers (@os2/protocol's apiErrorSchema, as the daemon's).
  const body = JSON.stringify({ error: apiErrorCodeFor(status), message });
  response.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}

/** The status and message for a failure after access was granted: the machine did not answer as needed. */
export function failureOf(error: unknown, port: number): { status: number; message: string } {
  if (error instanceof RelayError) return { status: error.status, message: `Port ${port}: ${error.message}` };
  const code = (error as { code?: string }).code;
  if (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EHOSTUNREACH") {
    return { status: 502, message: `The machine did not answer on port ${port} (${code}). Is it running?` };
  }
  return { status: 502, message: `The machine did not answer on port ${port}: ${errorMessage(error)}` };
}

export function logRelayFailure(log: Logger, door: string, machineId: string, error: unknown): void {
  if (error instanceof RelayError) return;
  log.warn(`${door}: relaying to a machine failed`, { machineId, error: errorMessage(error) });
}
