import { z } from "zod";
import { createProject, deleteProject, listProjects, updateProject } from "../../services/projects.ts";
import { organizationAdminProcedure, organizationProcedure, projectAdminProcedure, projectProcedure, router } from "../init.ts";
import { nameSchema, slugSchema } from "../schemas.ts";

export const projectRouter = router({
  list: organizationProcedure.query(({ ctx }) => listProjects(ctx.db, ctx.organization.id)),
  bySlug: projectProcedure.query(({ ctx }) => ctx.project),
  create: organizationAdminProcedure
    .input(z.object({ name: nameSchema }))
    .mutation(async ({ ctx, input }) => {
      const created = await createProject(ctx.db, { organizationId: ctx.organization.id, name: input.name });
      ctx.scope.projectId = created.id;
      return created;
    }),
  update: projectAdminProcedure
    .input(z.object({ name: nameSchema.optional(), newSlug: slugSchema.optional() }))
    .mutation(({ ctx, input }) => updateProject(ctx.db, ctx.project.id, { name: input.name, slug: input.newSlug })),
  delete: projectAdminProcedure.mutation(async ({ ctx }) => {
    await ctx.machines.deleteAllInProjects([ctx.project.id]);
    await deleteProject(ctx.db, ctx.project.id);
    return { id: ctx.project.id };
  }),
});
