/**
 * Idempotency keys for creates over the HTTP API: a client that retries `POST /api/v1/machines` after a
 * timeout, with the same `Idempotency-Key`, gets the machine the first request made instead of a second
 * one. Keys are per project and live a day. Two requests racing with one key: the first reserves the key
 * (the primary key decides), the second waits for the first's machine.
 */
import { and, eq, lt } from "drizzle-orm";

import type { Db } from "../db/client.ts";
import { apiIdempotencyKey } from "../db/schema/idempotency.ts";
import { DomainError } from "./errors.ts";

const KEY_LIFETIME_MS = 24 * 60 * 60_000;
const WAIT_FOR_FIRST_MS = 120_000;
const POLL_MS = 200;
const PURGE_EVERY_MS = 60_000;

export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

export class IdempotencyKeys {
  private readonly purgedAt = new Map<string, number>();

  constructor(private readonly db: Db) {}

  /**
   * Runs `create` at most once per (project, key) within a day: `{ machineId, replayed: false, made }` when
   * this call made it, `{ machineId, replayed: true }` when an earlier (or racing) call with the key did. A
   * failed create frees the key, so a retry tries again.
   */
  async once<T extends { id: string }>(
    projectId: string,
    key: string,
    create: () => Promise<T>,
  ): Promise<{ machineId: string; replayed: boolean; made?: T }> {
    if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new DomainError("bad_request", "Idempotency-Key must be 1–200 printable ASCII characters.");
    }
    this.purgeExpired(projectId);
    const scope = and(eq(apiIdempotencyKey.projectId, projectId), eq(apiIdempotencyKey.key, key));
    // One statement: a new key is reserved, and so is a key whose day is over (taken over in place).
    const now = new Date();
    const reserved = await this.db
      .insert(apiIdempotencyKey)
      .values({ projectId, key, createdAt: now })
      .onConflictDoUpdate({
        target: [apiIdempotencyKey.projectId, apiIdempotencyKey.key],
        set: { createdAt: now, machineId: null },
        setWhere: lt(apiIdempotencyKey.createdAt, new Date(now.getTime() - KEY_LIFETIME_MS)),
      })
      .returning({ key: apiIdempotencyKey.key });
    if (reserved.length === 0) return { machineId: await this.waitForFirst(scope), replayed: true };
    try {
      const made = await create();
      await this.db.update(apiIdempotencyKey).set({ machineId: made.id }).where(scope);
      return { machineId: made.id, replayed: false, made };
    } catch (error) {
      await this.db.delete(apiIdempotencyKey).where(scope);
      throw error;
    }
  }

  /**
   * Removes a project's keys past their day, at most once a minute per project and off the request's path:
   * the reservation above takes over an expired key by itself, so this only keeps the table small.
   */
  private purgeExpired(projectId: string) {
    const now = Date.now();
    if ((this.purgedAt.get(projectId) ?? 0) > now - PURGE_EVERY_MS) return;
    if (this.purgedAt.size >= 10_000) this.purgedAt.clear();
    this.purgedAt.set(projectId, now);
    this.db
      .delete(apiIdempotencyKey)
      .where(
        and(
          eq(apiIdempotencyKey.projectId, projectId),
          lt(apiIdempotencyKey.createdAt, new Date(now - KEY_LIFETIME_MS)),
        ),
      )
      .catch(() => this.purgedAt.delete(projectId)); // the next create tries again
  }

  private async waitForFirst(scope: ReturnType<typeof and>): Promise<string> {
    const deadline = Date.now() + WAIT_FOR_FIRST_MS;
    while (Date.now() < deadline) {
      const [row] = await this.db
        .select({ machineId: apiIdempotencyKey.machineId })
        .from(apiIdempotencyKey)
        .where(scope);
      if (!row) {
        throw new DomainError(
          "conflict",
          "An earlier request with this Idempotency-Key failed; send the request again to retry it.",
        );
      }
      if (row.machineId) return row.machineId;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new DomainError("timeout", "An earlier request with this Idempotency-Key is still running; retry later.");
  }
}
