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
import { isUniqueViolation } from "./db-errors.ts";
import { DomainError, notFound } from "./errors.ts";
import { firstFreeSlug, slugify } from "./slugs.ts";

export type Organization = typeof organization.$inferSelect;

/** Drizzle's default name for `organization.slug`'s unique constraint. */
const ORGANIZATION_SLUG_UNIQUE = "organization_slug_unique";
const MEMBERSHIP_UNIQUE = "membership_org_user_uq";

/** How often a create whose derived slug was taken by a concurrent create picks the next free one. */
const DERIVED_SLUG_ATTEMPTS = 5;

/**
 * Creates an organization with its creator as owner. A slug the caller chose is a conflict when taken, even
 * by a create racing this one (the unique constraint decides); a slug derived from the name moves on to
 * the next free one instead.
 */
export async function createOrganization(
  db: Db,
  input: { userId: string; name: string; slug?: string },
): Promise<Organization> {
  const isTaken = async (slug: string) =>
    (await db.select({ id: organization.id }).from(organization).where(eq(organization.slug, slug))).length > 0;
  if (input.slug && (await isTaken(input.slug))) {
    throw new DomainError("conflict", `The organization slug "${input.slug}" is taken: choose another slug.`);
  }
  for (let attempt = 1; ; attempt++) {
    const slug = input.slug ?? (await firstFreeSlug(slugify(input.name, "org"), isTaken));
    try {
      return await db.transaction(async (tx) => {
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
    } catch (error) {
      const retry = input.slug === undefined && attempt < DERIVED_SLUG_ATTEMPTS;
      if (!retry || !isUniqueViolation(error, ORGANIZATION_SLUG_UNIQUE)) throw error;
    }
  }
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

/**
 * Renames an organization or changes its slug. Sending neither changes nothing and answers the
 * organization as it is (the settings form sends only what changed, so an unchanged Save sends nothing).
 */
export async function updateOrganization(db: Db, organizationId: string, input: { name?: string; slug?: string }) {
  if (input.name === undefined && input.slug === undefined) {
    const [current] = await db.select().from(organization).where(eq(organization.id, organizationId));
    if (!current) throw notFound("Organization");
    return current;
  }
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
    .set({
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.slug === undefined ? {} : { slug: input.slug }),
    })
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

/**
 * Adds a user by email. An address with no account yet gets a placeholder account it claims at first
 * sign-in; two organizations adding the same new address at once share one (the insert yields to the
 * account the other made). Adding someone twice at once is one success and one conflict.
 */
export async function addMember(
  db: Db,
  input: { organizationId: string; email: string; role: OrganizationRole; actorRole: OrganizationRole },
) {
  requireMayManageMember(input.actorRole, "member", input.role);
  const email = input.email.toLowerCase();
  const alreadyMember = () => new DomainError("conflict", `${email} is already a member of this organization.`);
  const added = db.transaction(async (tx) => {
    let [member] = await tx.select().from(user).where(eq(user.email, email));
    if (!member) {
      await tx
        .insert(user)
        .values({ id: newId("user"), email, name: email.split("@")[0] ?? email, emailVerified: false, role: "user" })
        .onConflictDoNothing({ target: user.email });
      [member] = await tx.select().from(user).where(eq(user.email, email));
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
    if (existing) throw alreadyMember();
    await tx.insert(organizationMembership).values({
      id: newId("membership"),
      organizationId: input.organizationId,
      userId: member.id,
      role: input.role,
    });
    return { userId: member.id, email, role: input.role };
  });
  return added.catch((error: unknown) => {
    throw isUniqueViolation(error, MEMBERSHIP_UNIQUE) ? alreadyMember() : error;
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
