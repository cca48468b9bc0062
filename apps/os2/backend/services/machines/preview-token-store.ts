/**
 * Daytona preview tokens cached in the database, encrypted. Keyed by the sandbox id the provider knows;
 * rows hang off the machine, so deleting a machine drops its tokens.
 */
import { and, eq } from "drizzle-orm";

import type { Encryptor } from "../../crypto.ts";
import type { Db } from "../../db/client.ts";
import { machine, previewTokenCache } from "../../db/schema/machine.ts";
import { newId } from "../../ids.ts";
import type { PreviewToken, PreviewTokenStore } from "../../providers/types.ts";

export class DatabasePreviewTokenStore implements PreviewTokenStore {
  constructor(
    private readonly db: Db,
    private readonly encryptor: Encryptor,
  ) {}

  private async machineIdOf(externalId: string): Promise<string | null> {
    const [row] = await this.db.select({ id: machine.id }).from(machine).where(eq(machine.externalId, externalId));
    return row?.id ?? null;
  }

  async get(externalId: string, port: number): Promise<PreviewToken | null> {
    const [row] = await this.db
      .select({ url: previewTokenCache.url, token: previewTokenCache.tokenEncrypted })
      .from(previewTokenCache)
      .innerJoin(machine, eq(machine.id, previewTokenCache.machineId))
      .where(and(eq(machine.externalId, externalId), eq(previewTokenCache.port, port)));
    if (!row) return null;
    try {
      return { url: row.url, token: this.encryptor.decrypt(row.token) };
    } catch {
      return null; // Encrypted under another key: treat as a miss and fetch a fresh token.
    }
  }

  async set(externalId: string, port: number, value: PreviewToken): Promise<void> {
    const machineId = await this.machineIdOf(externalId);
    if (!machineId) return;
    await this.db
      .delete(previewTokenCache)
      .where(and(eq(previewTokenCache.machineId, machineId), eq(previewTokenCache.port, port)));
    await this.db.insert(previewTokenCache).values({
      id: newId("previewToken"),
      machineId,
      port,
      url: value.url,
      tokenEncrypted: this.encryptor.encrypt(value.token),
    });
  }

  async delete(externalId: string, port?: number): Promise<void> {
    const machineId = await this.machineIdOf(externalId);
    if (!machineId) return;
    await this.db
      .delete(previewTokenCache)
      .where(
        port === undefined
          ? eq(previewTokenCache.machineId, machineId)
          : and(eq(previewTokenCache.machineId, machineId), eq(previewTokenCache.port, port)),
      );
  }
}
