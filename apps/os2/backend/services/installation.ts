/**
 * This database's installation id, made at first start. Every instance on the same database reads the
 * same one; an os2 with another database (its own PGlite, another PostgreSQL) gets another, so two of them
 * on one Docker host or one Daytona organization never adopt or remove each other's machines.
 */
import type { Db } from "../db/client.ts";
import { installation } from "../db/schema/installation.ts";
import { newId } from "../ids.ts";

export async function ensureInstallation(db: Db): Promise<string> {
  const [existing] = await db.select({ id: installation.id }).from(installation).limit(1);
  if (existing) return existing.id;
  // Two instances starting at once on an empty database: both insert, and both then read the older one.
  await db.insert(installation).values({ id: newId("installation") });
  const [first] = await db
    .select({ id: installation.id })
    .from(installation)
    .orderBy(installation.createdAt, installation.id)
    .limit(1);
  if (!first) throw new Error("installation row missing right after insert");
  return first.id;
}
