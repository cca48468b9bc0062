/**
 * Pages of machine lists, kept for a moment. A dashboard refetches the list whenever anything in its
 * organization changes, every member's tab at once, and scripts poll it: the same page is read many times
 * between two changes. Reading it once and handing the same result to everyone asking within `ttlMs` takes
 * the database (and, through `trpc/serialization.ts`, the encoding) off all but the first request.
 *
 * - Fresh after a change: every realtime invalidation of an organization (this instance's own, and other
 *   instances' over PostgreSQL NOTIFY) forgets that organization's pages before anyone is told to refetch.
 *   Every change of a machine's state publishes one. What changes without a publish is at most `ttlMs` old.
 * - One read per page at a time: requests arriving while a page is being read wait for that read.
 * - Bounded: at most `maxEntries` pages (the oldest goes first); a failed read is not kept.
 * - Access is not cached here: callers check it before asking, and a page is the same for every caller
 *   allowed to see the project.
 */
export type MachineListCacheOptions = {
  ttlMs: number;
  maxEntries: number;
  now?: () => number;
};

type Entry = { organizationId: string; expiresAt: number; value: Promise<unknown> };

export class MachineListCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly options: MachineListCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The page under `key` (which names the project and everything the page depends on), read by `load` if needed. */
  get<T>(organizationId: string, key: string, load: () => Promise<T>): Promise<T> {
    if (this.options.ttlMs <= 0) return load();
    const now = this.now();
    const found = this.entries.get(key);
    if (found && found.expiresAt > now && found.organizationId === organizationId) return found.value as Promise<T>;
    if (found) this.entries.delete(key);
    const value = load();
    const entry: Entry = { organizationId, expiresAt: now + this.options.ttlMs, value };
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return value;
  }

  /** Something in this organization changed: its pages are read again on the next request. */
  forget(organizationId: string): void {
    for (const [key, entry] of this.entries) {
      if (entry.organizationId === organizationId) this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
