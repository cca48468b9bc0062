import { count, desc, eq } from "drizzle-orm";
import { user } from "../../db/schema/auth.ts";
import { organization, organizationMembership } from "../../db/schema/organization.ts";
import { router, systemAdminProcedure } from "../init.ts";

/** System administrators' overview. Impersonation itself goes through better-auth's admin endpoints. */
export const adminRouter = router({
  users: systemAdminProcedure.query(({ ctx }) =>
    ctx.db
      .select({ id: user.id, name: user.name, email: user.email, role: user.role, createdAt: user.createdAt })
      .from(user)
      .orderBy(desc(user.createdAt))
      .limit(500),
  ),
  organizations: systemAdminProcedure.query(({ ctx }) =>
    ctx.db
      .select({
        id: organization.id,
        name: organization.name,
        slug: organization.slug,
        createdAt: organization.createdAt,
        members: count(organizationMembership.id),
      })
      .from(organization)
      .leftJoin(organizationMembership, eq(organizationMembership.organizationId, organization.id))
      .groupBy(organization.id)
      .orderBy(desc(organization.createdAt))
      .limit(500),
  ),
});
