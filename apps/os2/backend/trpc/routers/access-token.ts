import { z } from "zod";
import { createAccessToken, listAccessTokens, revokeAccessToken } from "../../services/access-tokens.ts";
import { projectMemberProcedure, projectProcedure, router } from "../init.ts";
import { idSchema, nameSchema } from "../schemas.ts";

export const accessTokenRouter = router({
  list: projectProcedure.query(({ ctx }) => listAccessTokens(ctx.db, ctx.project.id)),
  /** Returns the raw token once; only its hash is stored. */
  create: projectMemberProcedure
    .input(z.object({ name: nameSchema }))
    .mutation(({ ctx, input }) =>
      createAccessToken(ctx.db, { projectId: ctx.project.id, name: input.name, createdBy: ctx.user.id }),
    ),
  revoke: projectMemberProcedure.input(z.object({ id: idSchema("pat") })).mutation(async ({ ctx, input }) => {
    await revokeAccessToken(ctx.db, { projectId: ctx.project.id, id: input.id });
    return { id: input.id };
  }),
});
