/**
 * Requests through a Daytona preview URL with one token refresh.
 *
 * Preview tokens are cached (PreviewTokenStore), so a cached token can be stale: the sandbox was recreated,
 * Daytona rotated it, or the store survived a restart. Daytona's preview proxy then answers 401. This
 * helper invalidates the cached token, fetches a fresh one, and retries exactly once; a second 401 means
 * the problem is not staleness, and it fails with a message that says so instead of looping.
 */
import { ProviderError } from "../errors";
import type { DaemonEndpoint } from "../types";

/** Where preview endpoints come from (DaytonaProvider); lets this helper drop a rejected token. */
export interface PreviewEndpointSource {
  daemonEndpoint(externalId: string, port: number, signal?: AbortSignal): Promise<DaemonEndpoint>;
  invalidatePreviewToken(externalId: string, port: number): Promise<void>;
}

export class PreviewTokenRejectedError extends ProviderError {
  constructor(
    readonly externalId: string,
    readonly port: number,
  ) {
    super(
      "unavailable",
      `Daytona's preview proxy rejected the token for port ${port} of sandbox ${externalId} twice, even after ` +
        `fetching a fresh one. Check that DAYTONA_API_KEY belongs to the organization that owns the sandbox.`,
    );
    this.name = "PreviewTokenRejectedError";
  }
}

export type PreviewAttemptOptions<T> = {
  source: PreviewEndpointSource;
  externalId: string;
  port: number;
  signal?: AbortSignal;
  /** Performs the request (HTTP, WebSocket upgrade…) against the endpoint. */
  perform: (endpoint: DaemonEndpoint) => Promise<T>;
  /** Whether the result is the preview proxy's 401. */
  isUnauthorized: (result: T) => boolean;
  /** Releases a rejected result before retrying (e.g. cancel a response body). */
  discard?: (result: T) => Promise<void> | void;
};

export async function withPreviewTokenRefresh<T>(options: PreviewAttemptOptions<T>): Promise<T> {
  const { source, externalId, port, signal } = options;
  const first = await options.perform(await source.daemonEndpoint(externalId, port, signal));
  if (!options.isUnauthorized(first)) return first;
  await options.discard?.(first);

  await source.invalidatePreviewToken(externalId, port);
  const second = await options.perform(await source.daemonEndpoint(externalId, port, signal));
  if (!options.isUnauthorized(second)) return second;
  await options.discard?.(second);
  await source.invalidatePreviewToken(externalId, port);
  throw new PreviewTokenRejectedError(externalId, port);
}

export type FetchThroughPreviewOptions = {
  source: PreviewEndpointSource;
  externalId: string;
  port: number;
  /** Path and query below the preview URL, starting with "/". */
  path: string;
  /** The body must be replayable (string, bytes…), since a 401 causes a second attempt. */
  init?: Omit<RequestInit, "body"> & { body?: string | Uint8Array<ArrayBuffer> | ArrayBuffer | URLSearchParams | null };
  fetch?: typeof fetch;
};

/** fetch() through the preview URL with Daytona's headers, refreshing the token once on a 401. */
export function fetchThroughPreview(options: FetchThroughPreviewOptions): Promise<Response> {
  const fetchImpl = options.fetch ?? fetch;
  const init = options.init ?? {};
  const signal = init.signal ?? undefined;
  return withPreviewTokenRefresh<Response>({
    source: options.source,
    externalId: options.externalId,
    port: options.port,
    ...(signal ? { signal } : {}),
    perform: (endpoint) => {
      const headers = new Headers(init.headers);
      for (const [name, value] of Object.entries(endpoint.headers)) headers.set(name, value);
      return fetchImpl(`${endpoint.url}${options.path}`, { ...init, headers });
    },
    isUnauthorized: (response) => response.status === 401,
    discard: async (response) => {
      await response.body?.cancel().catch(() => undefined);
    },
  });
}
