import { z } from "zod";
import { deleteEnvVar, listEnvVars, setEnvVar } from "../../services/env-vars.ts";
import { projectProcedure, router } from "../init.ts";
import { envKeySchema, envValueSchema, idSchema } from "../schemas.ts";

export const envVarRouter = router({
  list: projectProcedure.query(({ ctx }) => listEnvVars(ctx.db, ctx.project.id)),
  set: projectProcedure
    .input(z.object({ key: envKeySchema, value: envValueSchema, machineId: idSchema("mach").nullish() }))
    .mutation(({ ctx, input }) =>
      setEnvVar(ctx.db, ctx.encryptor, { projectId: ctx.project.id, key: input.key, value: input.value, machineId: input.machineId }),
    ),
  delete: projectProcedure.input(z.object({ id: idSchema("env") })).mutation(async ({ ctx, input }) => {
    await deleteEnvVar(ctx.db, { projectId: ctx.project.id, id: input.id });
    return { id: input.id };
  }),
});
