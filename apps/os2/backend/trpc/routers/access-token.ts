import { z } from "zod";

import { projectProcedure, projectProcedureFor, router } from "../init.ts";
import { idSchema, nameSchema } from "../schemas.ts";

export const accessTokenRouter = router({
  list: projectProcedure.query(({ ctx }) => ctx.services.accessTokens.list(ctx.project.id)),
  /** Returns the raw token once; only its hash is stored. */
  create: projectProcedureFor("tokens.manage")
    .input(z.object({ name: nameSchema }))
    .mutation(({ ctx, input }) =>
      ctx.services.accessTokens.create({ projectId: ctx.project.id, name: input.name, createdBy: ctx.user.id }),
    ),
  revoke: projectProcedureFor("tokens.manage")
    .input(z.object({ id: idSchema("pat") }))
    .mutation(async ({ ctx, input }) => {
      await ctx.services.accessTokens.revoke({ projectId: ctx.project.id, id: input.id });
      return { id: input.id };
    }),
});
