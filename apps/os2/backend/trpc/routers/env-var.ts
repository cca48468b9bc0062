import { z } from "zod";

import { projectProcedure, router } from "../init.ts";
import { envKeySchema, envValueSchema, idSchema } from "../schemas.ts";

export const envVarRouter = router({
  list: projectProcedure.query(({ ctx }) => ctx.services.envVars.list(ctx.project.id)),
  // A change makes running machines "restart to apply": their rows are refetched too.
  set: projectProcedure
    .meta({ invalidates: ["envVar", "machine"] })
    .input(z.object({ key: envKeySchema, value: envValueSchema, machineId: idSchema("mach").nullish() }))
    .mutation(({ ctx, input }) =>
      ctx.services.envVars.set({
        projectId: ctx.project.id,
        key: input.key,
        value: input.value,
        machineId: input.machineId,
      }),
    ),
  delete: projectProcedure
    .meta({ invalidates: ["envVar", "machine"] })
    .input(z.object({ id: idSchema("env") }))
    .mutation(async ({ ctx, input }) => {
      await ctx.services.envVars.delete({ projectId: ctx.project.id, id: input.id });
      return { id: input.id };
    }),
});
