/**
 * Open sockets and streams through either door, with how to re-check the access they were opened with.
 * Every few seconds each distinct credential is checked again (membership, token, machine); whatever lost
 * access is closed. Revoking a token, removing a member or deleting the machine thus ends open terminals,
 * previews' WebSockets and exec streams within a few seconds, not at their next request.
 */
import type { Logger } from "../logger.ts";

export type LiveConnection = {
  /** Connections with the same key share one re-check (same credential, same machine). */
  key: string;
  /** Resolves false when access is gone. A check that throws (database down) keeps the connection. */
  stillAllowed(): Promise<boolean>;
  close(): void;
};

export const RECHECK_INTERVAL_MS = 2_000;

export class LiveConnections {
  private readonly open = new Set<LiveConnection>();
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;

  constructor(private readonly log: Logger) {}

  /** Tracks a connection until the returned function is called (on close). */
  add(connection: LiveConnection): () => void {
    this.open.add(connection);
    this.timer ??= setInterval(() => this.sweep(), RECHECK_INTERVAL_MS);
    this.timer.unref();
    // The timer stays once started (it is unref'd and does nothing while nothing is open): starting and
    // stopping it around every short request would cost more than it saves.
    return () => {
      this.open.delete(connection);
    };
  }

  get size(): number {
    return this.open.size;
  }

  private sweep(): void {
    if (this.sweeping) return;
    this.sweeping = true;
    const byKey = new Map<string, LiveConnection[]>();
    for (const connection of this.open) byKey.set(connection.key, [...(byKey.get(connection.key) ?? []), connection]);
    const checks = [...byKey.values()].map(async (group) => {
      const [first] = group;
      if (!first) return;
      const allowed = await first.stillAllowed().catch((error: unknown) => {
        this.log.warn("re-checking an open machine connection failed; keeping it for now", { error: String(error) });
        return true;
      });
      if (allowed) return;
      for (const connection of group) {
        this.open.delete(connection);
        connection.close();
      }
    });
    Promise.all(checks)
      .catch((error: unknown) => this.log.error("sweeping open machine connections failed", { error: String(error) }))
      .finally(() => {
        this.sweeping = false;
      });
  }

  closeAll(): void {
    for (const connection of this.open) connection.close();
    this.open.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
