import { z } from "zod";

import { projectProcedure, projectProcedureFor, router } from "../init.ts";
import { idSchema, nameSchema } from "../schemas.ts";

export const accessTokenRouter = router({
  list: projectProcedure.query(({ ctx }) => ctx.services.accessTokens.list(ctx.project.id)),
  /** Returns the raw token once; only its hash is stored. */
  create: projectProcedureFor("tokens.manage")
    .input(
      z.object({
        name: nameSchema,
        /** Days until it expires; null for never. 90 when not given. */
        expiresInDays: z
          .number()
          .int()
          .min(1, "Use at least 1 day")
          .max(3650, "Use at most 3650 days")
          .nullable()
          .optional(),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.services.accessTokens.create({
        projectId: ctx.project.id,
        name: input.name,
        createdBy: ctx.user.id,
        ...(input.expiresInDays === undefined ? {} : { expiresInDays: input.expiresInDays }),
      }),
    ),
  revoke: projectProcedureFor("tokens.manage")
    .input(z.object({ id: idSchema("pat") }))
    .mutation(async ({ ctx, input }) => {
      await ctx.services.accessTokens.revoke({ projectId: ctx.project.id, id: input.id });
      return { id: input.id };
    }),
});
