import { z } from "zod";

import {
  organizationProcedure,
  organizationProcedureFor,
  projectProcedure,
  projectProcedureFor,
  router,
} from "../init.ts";
import { nameSchema, slugSchema } from "../schemas.ts";

export const projectRouter = router({
  list: organizationProcedure.query(({ ctx }) => ctx.services.projects.list(ctx.organization.id)),
  bySlug: projectProcedure.query(({ ctx }) => ctx.project),
  create: organizationProcedureFor("projects.create")
    .input(z.object({ name: nameSchema }))
    .mutation(async ({ ctx, input }) => {
      const created = await ctx.services.projects.create({ organizationId: ctx.organization.id, name: input.name });
      ctx.scope.projectId = created.id;
      return created;
    }),
  update: projectProcedureFor("project.manage")
    .input(z.object({ name: nameSchema.optional(), newSlug: slugSchema.optional() }))
    .mutation(({ ctx, input }) =>
      ctx.services.projects.update(ctx.project.id, { name: input.name, slug: input.newSlug }),
    ),
  delete: projectProcedureFor("project.manage").mutation(async ({ ctx }) => {
    await ctx.services.projects.delete(ctx.project.id);
    return { id: ctx.project.id };
  }),
});
