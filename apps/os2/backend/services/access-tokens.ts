/**
 * Project access tokens: `pat_` + 32 random bytes. Only the SHA-256 hash is stored; the raw token is
 * returned once by createAccessToken. A token authenticates API calls for its own project only.
 */
import { and, desc, eq, isNull } from "drizzle-orm";

import { randomToken, sha256Hex } from "../crypto.ts";
import type { Db } from "../db/client.ts";
import { projectAccessToken } from "../db/schema/project-access-token.ts";
import { newId } from "../ids.ts";
import { notFound } from "./errors.ts";

export const ACCESS_TOKEN_PREFIX = "pat_";
/** lastUsedAt is written at most this often per token, to keep authentication off the write path. */
const LAST_USED_RESOLUTION_MS = 60_000;

export async function createAccessToken(db: Db, input: { projectId: string; name: string; createdBy: string | null }) {
  const token = `${ACCESS_TOKEN_PREFIX}${randomToken(32)}`;
  const id = newId("accessToken");
  await db.insert(projectAccessToken).values({
    id,
    projectId: input.projectId,
    name: input.name,
    tokenHash: sha256Hex(token),
    createdBy: input.createdBy,
  });
  return { id, name: input.name, token };
}

export async function listAccessTokens(db: Db, projectId: string) {
  return db
    .select({
      id: projectAccessToken.id,
      name: projectAccessToken.name,
      createdAt: projectAccessToken.createdAt,
      lastUsedAt: projectAccessToken.lastUsedAt,
      revokedAt: projectAccessToken.revokedAt,
    })
    .from(projectAccessToken)
    .where(eq(projectAccessToken.projectId, projectId))
    .orderBy(desc(projectAccessToken.createdAt));
}

export async function revokeAccessToken(db: Db, input: { projectId: string; id: string }) {
  const revoked = await db
    .update(projectAccessToken)
    .set({ revokedAt: new Date() })
    .where(and(eq(projectAccessToken.id, input.id), eq(projectAccessToken.projectId, input.projectId)))
    .returning({ id: projectAccessToken.id });
  if (revoked.length === 0) throw notFound("Access token");
}

/** The token's project, or null when the token is unknown or revoked. */
export async function authenticateAccessToken(db: Db, rawToken: string) {
  if (!rawToken.startsWith(ACCESS_TOKEN_PREFIX)) return null;
  const [row] = await db
    .select()
    .from(projectAccessToken)
    .where(and(eq(projectAccessToken.tokenHash, sha256Hex(rawToken)), isNull(projectAccessToken.revokedAt)));
  if (!row) return null;
  const now = Date.now();
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db
      .update(projectAccessToken)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(projectAccessToken.id, row.id));
  }
  return { tokenId: row.id, projectId: row.projectId };
}
