import { eq } from "drizzle-orm";
import { z } from "zod";
import { user } from "../../db/schema/auth.ts";
import { listOrganizationsForUser } from "../../services/organizations.ts";
import { publicProcedure, router, signedInProcedure } from "../init.ts";
import { nameSchema } from "../schemas.ts";

export const userRouter = router({
  /** Public so the SPA can ask "who am I" without an error when signed out. */
  me: publicProcedure.query(({ ctx }) =>
    ctx.user ? { ...ctx.user, impersonatedBy: ctx.impersonatedBy } : null,
  ),
  organizations: signedInProcedure.query(({ ctx }) => listOrganizationsForUser(ctx.db, ctx.user.id)),
  update: signedInProcedure.input(z.object({ name: nameSchema })).mutation(async ({ ctx, input }) => {
    await ctx.db.update(user).set({ name: input.name }).where(eq(user.id, ctx.user.id));
    return { id: ctx.user.id, name: input.name };
  }),
  authConfig: publicProcedure.query(({ ctx }) => ({
    google: ctx.googleEnabled,
    stage: ctx.stage,
    codesInServerLog: ctx.codesInServerLog,
  })),
});
