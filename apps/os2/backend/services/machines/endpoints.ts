/**
 * How the control plane reaches a port of a machine: the provider's endpoint, plus the daemon's credential
 * on the daemon port. Endpoints are cached for a few seconds (asking Docker or Daytona on every proxied
 * request would double its latency) and forgotten on every state transition, when ports can change.
 */
import type { Encryptor } from "../../crypto.ts";
import { getProvider, type ProviderRegistry } from "../../providers/registry.ts";
import type { DaemonEndpoint } from "../../providers/types.ts";
import { DomainError } from "../errors.ts";
import type { Machine } from "./machine-row.ts";

export type { DaemonEndpoint };

const ENDPOINT_CACHE_MS = 5_000;
const MAX_CACHED = 5_000;
/** A provider that keeps handing out rejected credentials must not make a request loop. */
const MAX_REFRESHES = 2;

export class MachineEndpoints {
  private readonly cache = new Map<string, { endpoint: DaemonEndpoint; expires: number }>();

  constructor(private readonly deps: { providers: ProviderRegistry; encryptor: Encryptor }) {}

  async open(row: Machine, port: number, signal?: AbortSignal): Promise<DaemonEndpoint> {
    if (!row.externalId) throw new DomainError("precondition_failed", "The machine has no container yet.");
    const key = `${row.id}:${row.externalId}:${port}`;
    const cached = this.cache.get(key);
    if (cached && cached.expires > Date.now()) return cached.endpoint;
    const raw = await getProvider(this.deps.providers, row.type).daemonEndpoint(row.externalId, port, signal);
    // Cached with the credential in place: decrypting the daemon's token on every request costs more than
    // the rest of the proxy's work.
    const endpoint = this.withCredential(row, port, raw);
    if (this.cache.size > MAX_CACHED) this.cache.clear();
    this.cache.set(key, { endpoint, expires: Date.now() + ENDPOINT_CACHE_MS });
    return endpoint;
  }

  forget(machineId: string): void {
    for (const key of this.cache.keys()) if (key.startsWith(`${machineId}:`)) this.cache.delete(key);
  }

  /** The daemon's endpoints carry its credential; a refresh also drops what this cache holds for the machine. */
  private withCredential(row: Machine, port: number, endpoint: DaemonEndpoint): DaemonEndpoint {
    const { credentialHeader, refresh, ...rest } = endpoint;
    const headers = { ...endpoint.headers };
    if (credentialHeader) {
      const token = this.deps.encryptor.decrypt(row.authTokenEncrypted);
      headers[credentialHeader] = credentialHeader === "authorization" ? `Bearer ${token}` : token;
    }
    return {
      ...rest,
      headers,
      ...(refresh
        ? {
            refresh: async (signal?: AbortSignal) => {
              this.forget(row.id);
              return this.withCredential(row, port, await refresh(signal));
            },
          }
        : {}),
    };
  }
}

export type EndpointAttempt<T> = {
  /** Performs the request (HTTP, WebSocket upgrade…) against the endpoint. */
  perform(endpoint: DaemonEndpoint): Promise<T>;
  /** Whether the machine (or the provider's proxy in front of it) rejected the endpoint's credentials. */
  isUnauthorized(result: T): boolean;
  /** Releases a rejected result before trying again (cancel a body, close a socket). */
  discard?(result: T): void | Promise<void>;
};

/**
 * Performs a request, and when it is rejected with a refreshable endpoint, refreshes and tries again. The
 * provider decides how often that makes sense: its refreshed endpoint throws when there is nothing fresher.
 */
export async function withFreshEndpoint<T>(endpoint: DaemonEndpoint, attempt: EndpointAttempt<T>): Promise<T> {
  let current = endpoint;
  for (let refreshes = 0; ; refreshes += 1) {
    const result = await attempt.perform(current);
    if (!attempt.isUnauthorized(result) || !current.refresh || refreshes >= MAX_REFRESHES) return result;
    await attempt.discard?.(result);
    current = await current.refresh();
  }
}
