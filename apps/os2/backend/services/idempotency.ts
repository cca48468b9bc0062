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

export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

export class IdempotencyKeys {
  constructor(private readonly db: Db) {}

  /**
   * Runs `create` at most once per (project, key) within a day: `{ machineId, replayed: false }` when this
   * call made it, `{ machineId, replayed: true }` when an earlier (or racing) call with the key did. A
   * failed create frees the key, so a retry tries again.
   */
  async once(
    projectId: string,
    key: string,
    create: () => Promise<{ id: string }>,
  ): Promise<{ machineId: string; replayed: boolean }> {
    if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new DomainError("bad_request", "Idempotency-Key must be 1–200 printable ASCII characters.");
    }
    await this.db
      .delete(apiIdempotencyKey)
      .where(
        and(
          eq(apiIdempotencyKey.projectId, projectId),
          lt(apiIdempotencyKey.createdAt, new Date(Date.now() - KEY_LIFETIME_MS)),
        ),
      );
    const scope = and(eq(apiIdempotencyKey.projectId, projectId), eq(apiIdempotencyKey.key, key));
    const reserved = await this.db
      .insert(apiIdempotencyKey)
      .values({ projectId, key })
      .onConflictDoNothing()
      .returning({ key: apiIdempotencyKey.key });
    if (reserved.length === 0) return { machineId: await this.waitForFirst(scope), replayed: true };
    try {
      const made = await create();
      await this.db.update(apiIdempotencyKey).set({ machineId: made.id }).where(scope);
      return { machineId: made.id, replayed: false };
    } catch (error) {
      await this.db.delete(apiIdempotencyKey).where(scope);
      throw error;
    }
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
