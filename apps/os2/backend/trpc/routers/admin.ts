import { router, systemAdminProcedure } from "../init.ts";

/** System administrators' overview. Impersonation itself goes through better-auth's admin endpoints. */
export const adminRouter = router({
  users: systemAdminProcedure.query(({ ctx }) => ctx.services.admin.users()),
  organizations: systemAdminProcedure.query(({ ctx }) => ctx.services.admin.organizations()),
});
