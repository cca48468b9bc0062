/** Projects belong to one organization; their slug is unique within it and derived from the name. */
import { and, asc, eq } from "drizzle-orm";

import type { Db } from "../db/client.ts";
import { project } from "../db/schema/project.ts";
import { newId } from "../ids.ts";
import { isUniqueViolation } from "./db-errors.ts";
import { DomainError, notFound } from "./errors.ts";
import { firstFreeSlug, slugify } from "./slugs.ts";

export type Project = typeof project.$inferSelect;

const PROJECT_SLUG_UNIQUE = "project_org_slug_uq";

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

/** How often a create whose slug a concurrent create took picks the next free one. */
const SLUG_ATTEMPTS = 5;

/** Creates a project; its slug comes from the name, with a suffix when taken (even by a racing create). */
export async function createProject(db: Db, input: { organizationId: string; name: string }) {
  for (let attempt = 1; ; attempt++) {
    const slug = await firstFreeSlug(slugify(input.name, "project"), async (candidate) =>
      Boolean(await findProjectBySlug(db, input.organizationId, candidate)),
    );
    try {
      const [created] = await db
        .insert(project)
        .values({ id: newId("project"), organizationId: input.organizationId, name: input.name, slug })
        .returning();
      if (!created) throw new Error("insert returned no row");
      return created;
    } catch (error) {
      if (attempt >= SLUG_ATTEMPTS || !isUniqueViolation(error, PROJECT_SLUG_UNIQUE)) throw error;
    }
  }
}

/**
 * Renames a project or changes its slug. Sending neither changes nothing and answers the project as it is
 * (the settings form sends only what changed). A slug taken in the organization is a conflict; when an
 * update racing this one takes it first, the unique constraint says so and services/db-errors.ts words it
 * the same.
 */
export async function updateProject(db: Db, projectId: string, input: { name?: string; slug?: string }) {
  const [current] = await db.select().from(project).where(eq(project.id, projectId));
  if (!current) throw notFound("Project");
  if (input.name === undefined && input.slug === undefined) return current;
  if (input.slug && input.slug !== current.slug) {
    const clash = await findProjectBySlug(db, current.organizationId, input.slug);
    if (clash) {
      throw new DomainError(
        "conflict",
        `The project slug "${input.slug}" is taken in this organization: choose another slug.`,
      );
    }
  }
  const [updated] = await db
    .update(project)
    .set({
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.slug === undefined ? {} : { slug: input.slug }),
    })
    .where(eq(project.id, projectId))
    .returning();
  if (!updated) throw notFound("Project");
  return updated;
}

export async function deleteProject(db: Db, projectId: string) {
  await db.delete(project).where(eq(project.id, projectId));
}
