/** Projects belong to one organization; their slug is unique within it and derived from the name. */
import { and, asc, eq } from "drizzle-orm";

import type { Db } from "../db/client.ts";
import { project } from "../db/schema/project.ts";
import { newId } from "../ids.ts";
import { DomainError, notFound } from "./errors.ts";
import { firstFreeSlug, slugify } from "./slugs.ts";

export type Project = typeof project.$inferSelect;

export async function listProjects(db: Db, organizationId: string) {
  return db.select().from(project).where(eq(project.organizationId, organizationId)).orderBy(asc(project.createdAt));
}

export async function findProjectBySlug(db: Db, organizationId: string, slug: string) {
  const [row] = await db
    .select()
    .from(project)
    .where(and(eq(project.organizationId, organizationId), eq(project.slug, slug)));
  return row ?? null;
}

export async function createProject(db: Db, input: { organizationId: string; name: string }) {
  const slug = await firstFreeSlug(slugify(input.name, "project"), async (candidate) =>
    Boolean(await findProjectBySlug(db, input.organizationId, candidate)),
  );
  const [created] = await db
    .insert(project)
    .values({ id: newId("project"), organizationId: input.organizationId, name: input.name, slug })
    .returning();
  if (!created) throw new Error("insert returned no row");
  return created;
}

export async function updateProject(db: Db, projectId: string, input: { name?: string; slug?: string }) {
  const [current] = await db.select().from(project).where(eq(project.id, projectId));
  if (!current) throw notFound("Project");
  if (input.slug && input.slug !== current.slug) {
    const clash = await findProjectBySlug(db, current.organizationId, input.slug);
    if (clash) throw new DomainError("conflict", `The project slug "${input.slug}" is taken in this organization.`);
  }
  const [updated] = await db
    .update(project)
    .set({ ...(input.name ? { name: input.name } : {}), ...(input.slug ? { slug: input.slug } : {}) })
    .where(eq(project.id, projectId))
    .returning();
  if (!updated) throw notFound("Project");
  return updated;
}

export async function deleteProject(db: Db, projectId: string) {
  await db.delete(project).where(eq(project.id, projectId));
}
