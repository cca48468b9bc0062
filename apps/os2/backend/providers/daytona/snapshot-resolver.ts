/**
 * Finds the snapshot new Daytona sandboxes boot from: the newest `active` snapshot whose name starts with
 * the prefix (`${stage}--` by default; names are `<stage>--<YYYYMMDD-HHMMSS>`, see sandbox/snapshot-name.ts).
 * So `pnpm snapshot:daytona` alone rolls every new machine forward, without a deploy.
 *
 * Why raw fetch and not the SDK: `@daytonaio/sdk` 0.218 `snapshot.list()` sends only page/limit, never the
 * `name`, `sort` and `order` query parameters the REST API (`@daytona/api-client` `getAllSnapshots`) takes.
 * Since a server might still ignore them, results are filtered and ordered again on this side.
 *
 * Caching: 5 minutes per prefix (a new snapshot is picked up within that time), except for dev prefixes
 * (`dev-…`, `local-…`), where a developer who just built a snapshot expects the next machine to use it.
 * Concurrent look-ups for one prefix share a single request. Failures are never cached.
 */
import { z } from "zod";

import { isDevPrefix } from "../../stage";
import { ProviderError } from "../errors";
import { type Clock, systemClock } from "./clock";
import { DaytonaHttpError, mapDaytonaError } from "./map-daytona-error";

export const SNAPSHOT_CACHE_TTL_MS = 5 * 60 * 1000;
/** Page size for the listing; with the server-side name filter one page is the normal case. */
const PAGE_LIMIT = 100;
/** Guard against a server that ignores `name` in a huge organization. */
const MAX_PAGES = 20;

export type ResolvedSnapshot = { id: string; name: string; createdAt: string };

export type SnapshotResolverOptions = {
  apiKey: string;
  /** e.g. https://app.daytona.io/api (no trailing slash needed) */
  apiUrl: string;
  organizationId?: string;
  clock?: Clock;
  /** Injectable for unit tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  requestTimeoutMs?: number;
};

// Only the fields used here; the full shape is `PaginatedSnapshots` / `SnapshotDto` in @daytona/api-client.
const snapshotItemSchema = z.object({
  id: z.string(),
  name: z.string(),
  state: z.string(),
  createdAt: z.string(),
});
const paginatedSnapshotsSchema = z.object({
  items: z.array(snapshotItemSchema),
  total: z.number(),
  page: z.number(),
  totalPages: z.number(),
});
type SnapshotItem = z.infer<typeof snapshotItemSchema>;

/** Dev and local prefixes change whenever their owner runs the snapshot script, so they are never cached. */
export function isUncachedSnapshotPrefix(prefix: string): boolean {
  return isDevPrefix(prefix);
}

export function defaultSnapshotPrefix(stage: string): string {
  return `${stage}--`;
}

export class SnapshotNotFoundError extends ProviderError {
  constructor(readonly prefix: string) {
    super(
      "unavailable",
      `No active Daytona snapshot matches the prefix "${prefix}". Build one with \`pnpm snapshot:daytona\` ` +
        `(it names snapshots <stage>--<YYYYMMDD-HHMMSS>), or set DAYTONA_SNAPSHOT_PREFIX to an existing one.`,
    );
    this.name = "SnapshotNotFoundError";
  }
}

export class SnapshotResolver {
  private readonly cache = new Map<string, { snapshot: ResolvedSnapshot; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<ResolvedSnapshot>>();
  private readonly clock: Clock;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: SnapshotResolverOptions) {
    this.clock = options.clock ?? systemClock;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The newest active snapshot for the prefix; throws SnapshotNotFoundError when there is none. */
  async resolve(prefix: string, signal?: AbortSignal): Promise<ResolvedSnapshot> {
    const cached = this.cache.get(prefix);
    if (cached && cached.expiresAt > this.clock.now()) return cached.snapshot;

    let request = this.inFlight.get(prefix);
    if (!request) {
      // The shared request is not tied to one caller's signal: another caller may still want the answer.
      request = this.fetchNewestActive(prefix)
        .then((snapshot) => {
          if (!isUncachedSnapshotPrefix(prefix)) {
            this.cache.set(prefix, { snapshot, expiresAt: this.clock.now() + SNAPSHOT_CACHE_TTL_MS });
          }
          return snapshot;
        })
        .finally(() => this.inFlight.delete(prefix));
      this.inFlight.set(prefix, request);
    }
    return signal ? abortable(request, signal, prefix) : request;
  }

  /** Forget cached answers, e.g. after the snapshot script ran in the same process. */
  invalidate(prefix?: string): void {
    if (prefix === undefined) this.cache.clear();
    else this.cache.delete(prefix);
  }

  private async fetchNewestActive(prefix: string): Promise<ResolvedSnapshot> {
    const matches: SnapshotItem[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const result = await this.fetchPage(prefix, page);
      matches.push(...result.items.filter((item) => item.name.startsWith(prefix) && item.state === "active"));
      if (page >= result.totalPages) break;
    }
    // Newest first, whatever order the server used. ISO timestamps compare correctly as dates.
    matches.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.name.localeCompare(a.name));
    const newest = matches[0];
    if (!newest) throw new SnapshotNotFoundError(prefix);
    return { id: newest.id, name: newest.name, createdAt: newest.createdAt };
  }

  private async fetchPage(prefix: string, page: number) {
    const url = new URL(`${this.options.apiUrl.replace(/\/+$/, "")}/snapshots`);
    url.searchParams.set("name", prefix);
    url.searchParams.set("sort", "createdAt");
    url.searchParams.set("order", "desc");
    url.searchParams.set("page", String(page));
    url.searchParams.set("limit", String(PAGE_LIMIT));
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.options.apiKey}`,
      Accept: "application/json",
    };
    if (this.options.organizationId) headers["X-Daytona-Organization-ID"] = this.options.organizationId;
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs ?? 15_000);
    const action = `list snapshots for prefix "${prefix}"`;
    try {
      const response = await this.fetchImpl(url, {
        headers,
        signal: timeout,
      });
      const body: unknown = await response.json().catch(() => null);
      if (!response.ok) {
        throw new DaytonaHttpError(errorMessageOf(body) ?? `HTTP ${response.status}`, response.status);
      }
      const parsed = paginatedSnapshotsSchema.safeParse(body);
      if (!parsed.success) {
        throw new ProviderError("unavailable", `Daytona: unexpected answer to ${action}: ${parsed.error.message}`);
      }
      return parsed.data;
    } catch (error) {
      throw mapDaytonaError(error, action);
    }
  }
}

/** One caller giving up rejects only its own wait; the shared request carries on for the others. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal, prefix: string): Promise<T> {
  const aborted = () =>
    mapDaytonaError(signal.reason ?? new DOMException("Aborted", "AbortError"), `resolve snapshot "${prefix}"`);
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function errorMessageOf(body: unknown): string | undefined {
  const parsed = z.object({ message: z.union([z.string(), z.array(z.string())]) }).safeParse(body);
  if (!parsed.success) return undefined;
  return Array.isArray(parsed.data.message) ? parsed.data.message.join("; ") : parsed.data.message;
}
