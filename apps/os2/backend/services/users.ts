/** Users as os2 itself changes them (better-auth owns sign-in), and the system administrators' overview. */
import { count, desc, eq } from "drizzle-orm";

import type { Db } from "../db/client.ts";
import { user } from "../db/schema/auth.ts";
import { organization, organizationMembership } from "../db/schema/organization.ts";

export async function renameUser(db: Db, userId: string, name: string) {
  await db.update(user).set({ name }).where(eq(user.id, userId));
  return { id: userId, name };
}

export function listUsersForAdmin(db: Db) {
  return db
    .select({ id: user.id, name: user.name, email: user.email, role: user.role, createdAt: user.createdAt })
    .from(user)
    .orderBy(desc(user.createdAt))
    .limit(500);
}

export function listOrganizationsForAdmin(db: Db) {
  return db
    .select({
      id: organization.id,
      name: organization.name,
      slug: organization.slug,
      createdAt: organization.createdAt,
      members: count(organizationMembership.id),
      maxCpuMillis: organization.maxCpuMillis,
      maxMemoryMb: organization.maxMemoryMb,
      maxPids: organization.maxPids,
      maxRunningMachines: organization.maxRunningMachines,
    })
    .from(organization)
    .leftJoin(organizationMembership, eq(organizationMembership.organizationId, organization.id))
    .groupBy(organization.id)
    .orderBy(desc(organization.createdAt))
    .limit(500);
}
