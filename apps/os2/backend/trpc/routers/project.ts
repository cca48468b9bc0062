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
  /** The machines deleting this project would destroy, archived ones included. */
  machines: projectProcedure.query(({ ctx }) => ctx.services.projects.machines(ctx.project.id)),
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
  /** The project's defaults for new machines; a null field falls back to the installation's. */
  setMachineDefaults: projectProcedureFor("project.manage")
    .meta({ invalidates: ["project", "machine"] })
    .input(
      z.object({
        cpus: z.number().min(0.1).max(256).nullable(),
        memoryMb: z.number().int().min(128).max(1_048_576).nullable(),
        pids: z.number().int().min(64).max(1_000_000).nullable(),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.services.machines.setProjectDefaults(ctx.project.id, {
        cpuMillis: input.cpus === null ? null : Math.round(input.cpus * 1000),
        memoryMb: input.memoryMb,
        pids: input.pids,
      }),
    ),
  /** How many warm machines the project keeps for itself, and how many are booted. */
  warmPool: projectProcedure.query(({ ctx }) => ctx.services.machines.projectWarmPool(ctx.project.id)),
  /** Sets how many warm machines the project keeps for itself (0: none), within the installation's cap. */
  setWarmPoolSize: projectProcedureFor("project.manage")
    .meta({ invalidates: ["project"] })
    .input(z.object({ size: z.number().int().min(0).max(1_000) }))
    .mutation(({ ctx, input }) => ctx.services.machines.setProjectWarmPoolSize(ctx.project.id, input.size)),
  delete: projectProcedureFor("project.manage").mutation(async ({ ctx }) => {
    await ctx.services.projects.delete(ctx.project.id);
    return { id: ctx.project.id };
  }),
});
