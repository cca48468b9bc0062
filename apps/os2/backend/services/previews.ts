/**
 * Browsers into previews. The dashboard mints a ticket for one signed-in user, one machine and one port:
 * random, single use, valid for a minute. The preview origin redeems it (atomically, so it works once) for
 * a preview session whose token goes into that preview host's own HttpOnly cookie. Dashboard cookies never
 * reach a preview host, and a preview session opens only the one port of the one machine it was made for.
 *
 * Access is not decided here: callers re-check it with the access service on every request and, for open
 * sockets, every few seconds, so removing a member or deleting the machine ends a session at once.
 */
import { and, eq, gt, lt } from "drizzle-orm";

import { randomToken, sha256Hex } from "../crypto.ts";
import type { Db } from "../db/client.ts";
import { user } from "../db/schema/auth.ts";
import { previewSession, previewTicket } from "../db/schema/preview.ts";
import { newId } from "../ids.ts";
import type { AccessService, Caller } from "./access.ts";
import { DomainError } from "./errors.ts";

export const PREVIEW_TICKET_TTL_MS = 60_000;
export const PREVIEW_SESSION_TTL_MS = 12 * 60 * 60_000;

export type PreviewTarget = { machineId: string; port: number };

export class PreviewService {
  constructor(private readonly deps: { db: Db; access: AccessService; now?: () => number }) {}

  private now() {
    return this.deps.now?.() ?? Date.now();
  }

  /** A ticket for the calling user into one port of a machine they may reach. */
  async mintTicket(caller: Caller, target: PreviewTarget): Promise<{ ticket: string; expiresAt: Date }> {
    if (caller.kind !== "user") {
      throw new DomainError(
        "forbidden",
        "Preview tickets are for signed-in users; API clients send their access token.",
      );
    }
    await this.deps.access.machineById(caller, target.machineId);
    const ticket = randomToken(32);
    const expiresAt = new Date(this.now() + PREVIEW_TICKET_TTL_MS);
    await this.deps.db.insert(previewTicket).values({
      id: newId("previewTicket"),
      tokenHash: sha256Hex(ticket),
      userId: caller.user.id,
      machineId: target.machineId,
      port: target.port,
      expiresAt,
    });
    return { ticket, expiresAt };
  }

  /**
   * Exchanges a ticket for a preview session of the same user, machine and port. The ticket is deleted in
   * the same statement that reads it, so a second redemption (or a concurrent one) finds nothing.
   */
  async redeemTicket(ticket: string, target: PreviewTarget): Promise<{ token: string; expiresAt: Date } | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(ticket)) return null;
    const [row] = await this.deps.db
      .delete(previewTicket)
      .where(eq(previewTicket.tokenHash, sha256Hex(ticket)))
      .returning();
    if (!row || row.expiresAt.getTime() <= this.now()) return null;
    if (row.machineId !== target.machineId || row.port !== target.port) return null;
    const caller = await this.callerFor(row.userId);
    if (!caller) return null;
    await this.deps.access.machineById(caller, target.machineId);
    const token = randomToken(32);
    const expiresAt = new Date(this.now() + PREVIEW_SESSION_TTL_MS);
    await this.deps.db.insert(previewSession).values({
      id: newId("previewSession"),
      tokenHash: sha256Hex(token),
      userId: row.userId,
      machineId: row.machineId,
      port: row.port,
      expiresAt,
    });
    return { token, expiresAt };
  }

  /** The user behind a preview session cookie, when it is live and was made for exactly this target. */
  async sessionCaller(token: string, target: PreviewTarget): Promise<Caller | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
    const [row] = await this.deps.db
      .select()
      .from(previewSession)
      .where(and(eq(previewSession.tokenHash, sha256Hex(token)), gt(previewSession.expiresAt, new Date(this.now()))));
    if (!row || row.machineId !== target.machineId || row.port !== target.port) return null;
    return this.callerFor(row.userId);
  }

  /** Drops expired tickets and sessions; cheap, called from time to time. */
  async prune(): Promise<void> {
    const now = new Date(this.now());
    await this.deps.db.delete(previewTicket).where(lt(previewTicket.expiresAt, now));
    await this.deps.db.delete(previewSession).where(lt(previewSession.expiresAt, now));
  }

  private async callerFor(userId: string): Promise<Caller | null> {
    const [row] = await this.deps.db.select().from(user).where(eq(user.id, userId));
    if (!row) return null;
    return {
      kind: "user",
      user: { id: row.id, email: row.email, name: row.name, role: row.role ?? null },
      impersonatedBy: null,
    };
  }
}
