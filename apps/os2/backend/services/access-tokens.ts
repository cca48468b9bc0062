/**
 * Project access tokens: `pat_` + 32 random bytes. Only the SHA-256 hash is stored; the raw token is
 * returned once by createAccessToken. A token authenticates API calls for its own project only, and only
 * while it lives: not revoked, not expired, and its creator still a member of the project's organization
 * (a member removed from the organization takes every token they minted with them).
 *
 * Any member of the organization may mint tokens for its projects (a token can do what a member can do in
 * the project, and no more); tokens cannot mint tokens.
 */
import { and, desc, eq, gt, isNull, or } from "drizzle-orm";

import { randomToken, sha256Hex } from "../crypto.ts";
import type { Db } from "../db/client.ts";
import { organizationMembership } from "../db/schema/organization.ts";
import { project } from "../db/schema/project.ts";
import { projectAccessToken } from "../db/schema/project-access-token.ts";
import { newId } from "../ids.ts";
import { notFound } from "./errors.ts";

export const ACCESS_TOKEN_PREFIX = "pat_";
/** lastUsedAt is written at most this often per token, to keep authentication off the write path. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** New tokens expire after this many days unless the creator picks otherwise (or none). */
export const DEFAULT_TOKEN_DAYS = 90;

export async function createAccessToken(
  db: Db,
  input: { projectId: string; name: string; createdBy: string | null; expiresInDays?: number | null },
) {
  const token = `${ACCESS_TOKEN_PREFIX}${randomToken(32)}`;
  const id = newId("accessToken");
  const days = input.expiresInDays === undefined ? DEFAULT_TOKEN_DAYS : input.expiresInDays;
  const expiresAt = days === null ? null : new Date(Date.now() + days * 24 * 60 * 60 * 1000);
  await db.insert(projectAccessToken).values({
    id,
    projectId: input.projectId,
    name: input.name,
    tokenHash: sha256Hex(token),
    createdBy: input.createdBy,
    expiresAt,
  });
  return { id, name: input.name, token, expiresAt };
}

export async function listAccessTokens(db: Db, projectId: string) {
  return db
    .select({
      id: projectAccessToken.id,
      name: projectAccessToken.name,
      createdAt: projectAccessToken.createdAt,
      lastUsedAt: projectAccessToken.lastUsedAt,
      revokedAt: projectAccessToken.revokedAt,
      expiresAt: projectAccessToken.expiresAt,
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

/** The token's project, or null when the token is unknown, revoked, expired, or its creator lost access. */
export async function authenticateAccessToken(db: Db, rawToken: string) {
  if (!rawToken.startsWith(ACCESS_TOKEN_PREFIX)) return null;
  const [found] = await db
    .select({ token: projectAccessToken, membership: organizationMembership.id })
    .from(projectAccessToken)
    .innerJoin(project, eq(project.id, projectAccessToken.projectId))
    // The creator must still belong to the project's organization.
    .leftJoin(
      organizationMembership,
      and(
        eq(organizationMembership.organizationId, project.organizationId),
        eq(organizationMembership.userId, projectAccessToken.createdBy),
      ),
    )
    .where(
      and(
        eq(projectAccessToken.tokenHash, sha256Hex(rawToken)),
        isNull(projectAccessToken.revokedAt),
        or(isNull(projectAccessToken.expiresAt), gt(projectAccessToken.expiresAt, new Date())),
      ),
    );
  if (!found || found.membership === null) return null;
  const row = found.token;
  const now = Date.now();
  if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db
      .update(projectAccessToken)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(projectAccessToken.id, row.id));
  }
  return { tokenId: row.id, projectId: row.projectId };
}
