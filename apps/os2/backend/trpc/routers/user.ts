import { z } from "zod";

import { publicProcedure, router, signedInProcedure } from "../init.ts";
import { nameSchema } from "../schemas.ts";

export const userRouter = router({
  /** Public so the SPA can ask "who am I" without an error when signed out. */
  me: publicProcedure.query(({ ctx }) => (ctx.user ? { ...ctx.user, impersonatedBy: ctx.impersonatedBy } : null)),
  organizations: signedInProcedure.query(({ ctx }) => ctx.services.organizations.listForUser(ctx.user.id)),
  update: signedInProcedure
    .input(z.object({ name: nameSchema }))
    .mutation(({ ctx, input }) => ctx.services.users.rename(ctx.user.id, input.name)),
  authConfig: publicProcedure.query(({ ctx }) => ({
    google: ctx.googleEnabled,
    stage: ctx.stage,
    codesInServerLog: ctx.emailDelivery === "log",
    emailDelivery: ctx.emailDelivery,
  })),
});
