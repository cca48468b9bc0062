/**
 * Organizations and their memberships. The creator becomes the owner; an organization always keeps at
 * least one owner (the last one can be neither removed nor demoted).
 */
import { and, asc, count, eq, sql } from "drizzle-orm";

import type { Db, Queryable } from "../db/client.ts";
import { user } from "../db/schema/auth.ts";
import { organization, organizationMembership, type OrganizationRole } from "../db/schema/organization.ts";
import { newId } from "../ids.ts";
import { requireMayManageMember } from "./access.ts";
import { DomainError, notFound } from "./errors.ts";
import { firstFreeSlug, slugify } from "./slugs.ts";

export type Organization = typeof organization.$inferSelect;

export async function createOrganization(
  db: Db,
  input: { userId: string; name: string; slug?: string },
): Promise<Organization> {
  const isTaken = async (slug: string) =>
    (await db.select({ id: organization.id }).from(organization).where(eq(organization.slug, slug))).length > 0;
  if (input.slug && (await isTaken(input.slug))) {
    throw new DomainError("conflict", `The organization slug "${input.slug}" is taken: choose another slug.`);
  }
  const slug = input.slug ?? (await firstFreeSlug(slugify(input.name, "org"), isTaken));
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(organization)
      .values({ id: newId("organization"), name: input.name, slug })
      .returning();
    if (!created) throw new Error("insert returned no row");
    await tx
      .insert(organizationMembership)
      .values({ id: newId("membership"), organizationId: created.id, userId: input.userId, role: "owner" });
    return created;
  });
}

export async function listOrganizationsForUser(db: Db, userId: string) {
  return db
    .select({
      id: organization.id,
      name: organization.name,
      slug: organization.slug,
      role: organizationMembership.role,
    })
    .from(organizationMembership)
    .innerJoin(organization, eq(organization.id, organizationMembership.organizationId))
    .where(eq(organizationMembership.userId, userId))
    .orderBy(asc(organization.createdAt));
}

export async function updateOrganization(db: Db, organizationId: string, input: { name?: string; slug?: string }) {
  if (input.slug) {
    const [clash] = await db
      .select({ id: organization.id })
      .from(organization)
      .where(eq(organization.slug, input.slug));
    if (clash && clash.id !== organizationId) {
      throw new DomainError("conflict", `The organization slug "${input.slug}" is taken: choose another slug.`);
    }
  }
  const [updated] = await db
    .update(organization)
    .set({ ...(input.name ? { name: input.name } : {}), ...(input.slug ? { slug: input.slug } : {}) })
    .where(eq(organization.id, organizationId))
    .returning();
  if (!updated) throw notFound("Organization");
  return updated;
}

/** System administrators' limits for one organization; null falls back to the installation's maximum. */
export async function setOrganizationLimits(
  db: Db,
  organizationId: string,
  limits: {
    maxCpuMillis: number | null;
    maxMemoryMb: number | null;
    maxPids: number | null;
    maxRunningMachines: number | null;
  },
) {
  const [updated] = await db.update(organization).set(limits).where(eq(organization.id, organizationId)).returning();
  if (!updated) throw notFound("Organization");
  return updated;
}

export async function deleteOrganization(db: Db, organizationId: string) {
  await db.delete(organization).where(eq(organization.id, organizationId));
}

export async function listMembers(db: Db, organizationId: string) {
  return db
    .select({
      userId: user.id,
      name: user.name,
      email: user.email,
      role: organizationMembership.role,
      joinedAt: organizationMembership.createdAt,
    })
    .from(organizationMembership)
    .innerJoin(user, eq(user.id, organizationMembership.userId))
    .where(eq(organizationMembership.organizationId, organizationId))
    .orderBy(asc(organizationMembership.createdAt));
}

/** Adds a user by email. An address with no account yet gets a placeholder account it claims at first sign-in. */
export async function addMember(
  db: Db,
  input: { organizationId: string; email: string; role: OrganizationRole; actorRole: OrganizationRole },
) {
  requireMayManageMember(input.actorRole, "member", input.role);
  const email = input.email.toLowerCase();
  return db.transaction(async (tx) => {
    let [member] = await tx.select().from(user).where(eq(user.email, email));
    if (!member) {
      [member] = await tx
        .insert(user)
        .values({ id: newId("user"), email, name: email.split("@")[0] ?? email, emailVerified: false, role: "user" })
        .returning();
    }
    if (!member) throw new Error("user insert returned no row");
    const [existing] = await tx
      .select({ id: organizationMembership.id })
      .from(organizationMembership)
      .where(
        and(
          eq(organizationMembership.organizationId, input.organizationId),
          eq(organizationMembership.userId, member.id),
        ),
      );
    if (existing) throw new DomainError("conflict", `${email} is already a member of this organization.`);
    await tx.insert(organizationMembership).values({
      id: newId("membership"),
      organizationId: input.organizationId,
      userId: member.id,
      role: input.role,
    });
    return { userId: member.id, email, role: input.role };
  });
}

/**
 * Changes a member's role. Runs under a lock on the organization row so two concurrent demotions cannot
 * both see "another owner remains" and leave the organization without one.
 */
export async function updateMemberRole(
  db: Db,
  input: { organizationId: string; userId: string; role: OrganizationRole; actorRole: OrganizationRole },
) {
  await db.transaction(async (tx) => {
    const current = await lockAndGetRole(tx, input.organizationId, input.userId);
    requireMayManageMember(input.actorRole, current, input.role);
    if (current === "owner" && input.role !== "owner") await assertAnotherOwner(tx, input.organizationId);
    await tx
      .update(organizationMembership)
      .set({ role: input.role })
      .where(
        and(
          eq(organizationMembership.organizationId, input.organizationId),
          eq(organizationMembership.userId, input.userId),
        ),
      );
  });
}

export async function removeMember(
  db: Db,
  input: { organizationId: string; userId: string; actorRole: OrganizationRole; actorUserId: string },
) {
  await db.transaction(async (tx) => {
    const current = await lockAndGetRole(tx, input.organizationId, input.userId);
    // Anyone may leave; removing someone else needs admin rights, and owners are removed only by owners.
    if (input.userId !== input.actorUserId) requireMayManageMember(input.actorRole, current, "member");
    if (current === "owner") await assertAnotherOwner(tx, input.organizationId);
    await tx
      .delete(organizationMembership)
      .where(
        and(
          eq(organizationMembership.organizationId, input.organizationId),
          eq(organizationMembership.userId, input.userId),
        ),
      );
  });
}

async function lockAndGetRole(db: Queryable, organizationId: string, userId: string): Promise<OrganizationRole> {
  await db.execute(sql`select id from ${organization} where ${organization.id} = ${organizationId} for update`);
  const [row] = await db
    .select({ role: organizationMembership.role })
    .from(organizationMembership)
    .where(and(eq(organizationMembership.organizationId, organizationId), eq(organizationMembership.userId, userId)));
  if (!row) throw notFound("Member");
  return row.role;
}

async function assertAnotherOwner(db: Queryable, organizationId: string) {
  const [row] = await db
    .select({ owners: count() })
    .from(organizationMembership)
    .where(and(eq(organizationMembership.organizationId, organizationId), eq(organizationMembership.role, "owner")));
  if ((row?.owners ?? 0) <= 1) {
    throw new DomainError(
      "precondition_failed",
      "An organization needs at least one owner: make another member an owner first.",
    );
  }
}
