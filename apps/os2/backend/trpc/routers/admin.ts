import { z } from "zod";

import { router, systemAdminProcedure } from "../init.ts";
import { idSchema } from "../schemas.ts";

/** System administrators' overview. Impersonation itself goes through better-auth's admin endpoints. */
export const adminRouter = router({
  users: systemAdminProcedure.query(({ ctx }) => ctx.services.admin.users()),
  organizations: systemAdminProcedure.query(({ ctx }) => ctx.services.admin.organizations()),
  /** The warm pool's members (booted ahead of demand, owned by no project), with their age and state. */
  warmPool: systemAdminProcedure.query(({ ctx }) => ctx.services.machines.warmPool()),
  /** An organization's maximum per machine and of running machines; null fields use the installation's. */
  setOrganizationLimits: systemAdminProcedure
    .meta({ invalidates: ["admin", "machine"] })
    .input(
      z.object({
        organizationId: idSchema("org"),
        maxCpus: z.number().min(0.1).max(256).nullable(),
        maxMemoryMb: z.number().int().min(128).max(1_048_576).nullable(),
        maxPids: z.number().int().min(64).max(1_000_000).nullable(),
        maxRunningMachines: z.number().int().min(0).max(100_000).nullable(),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.services.admin.setOrganizationLimits(input.organizationId, {
        maxCpuMillis: input.maxCpus === null ? null : Math.round(input.maxCpus * 1000),
        maxMemoryMb: input.maxMemoryMb,
        maxPids: input.maxPids,
        maxRunningMachines: input.maxRunningMachines,
      }),
    ),
});
