import { DAEMON_PORT } from "@os2/protocol";
import { z } from "zod";

import { MACHINE_TYPES, type PublicMachine } from "../../services/machines/machine-service.ts";
import { projectProcedure, router } from "../init.ts";
import { idSchema } from "../schemas.ts";

export const machineNameSchema = z
  .string()
  .trim()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    "Use 1–63 lowercase letters, digits or dashes, starting with a letter or digit (e.g. brave-otter-42)",
  );

const machineInput = z.object({ machineId: idSchema("mach") });

/** Where the user opens the machine: http://localhost:<port> for local Docker, and the os2 proxy path. */
function previewInfo(organizationSlug: string, projectSlug: string, machine: PublicMachine, port: number) {
  const metadata = machine.metadata as { port?: number; ports?: Record<string, number>; snapshotName?: string };
  const hostPort = port === DAEMON_PORT ? metadata.port : metadata.ports?.[String(port)];
  return {
    port,
    proxyPath: `/org/${organizationSlug}/proj/${projectSlug}/${machine.id}/proxy/${port}/`,
    directUrl: machine.type === "local-docker" && hostPort ? `http://localhost:${hostPort}` : null,
    snapshotName: metadata.snapshotName ?? null,
  };
}

export const machineRouter = router({
  types: projectProcedure.query(({ ctx }) => ctx.services.machines.availability()),
  list: projectProcedure
    .input(z.object({ includeArchived: z.boolean().default(false) }))
    .query(({ ctx, input }) => ctx.services.machines.list(ctx.project.id, { includeArchived: input.includeArchived })),
  byId: projectProcedure.input(machineInput).query(async ({ ctx, input }) => {
    const { authTokenEncrypted: _secret, ...machine } = await ctx.services.machines.get(
      ctx.project.id,
      input.machineId,
    );
    return machine;
  }),
  create: projectProcedure
    .input(
      z.object({
        name: machineNameSchema,
        type: z.enum(MACHINE_TYPES, { error: () => `Must be one of: ${MACHINE_TYPES.join(", ")}` }),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.services.machines.create({
        projectId: ctx.project.id,
        name: input.name,
        type: input.type,
        userId: ctx.user?.id ?? null,
      }),
    ),
  start: projectProcedure
    .input(machineInput)
    .mutation(({ ctx, input }) => ctx.services.machines.start(ctx.project.id, input.machineId)),
  stop: projectProcedure
    .input(machineInput)
    .mutation(({ ctx, input }) => ctx.services.machines.stop(ctx.project.id, input.machineId)),
  restart: projectProcedure
    .input(machineInput)
    .mutation(({ ctx, input }) => ctx.services.machines.restart(ctx.project.id, input.machineId)),
  archive: projectProcedure
    .input(machineInput)
    .mutation(({ ctx, input }) => ctx.services.machines.archive(ctx.project.id, input.machineId)),
  unarchive: projectProcedure
    .input(machineInput)
    .mutation(({ ctx, input }) => ctx.services.machines.unarchive(ctx.project.id, input.machineId)),
  recreate: projectProcedure
    .input(machineInput)
    .mutation(({ ctx, input }) => ctx.services.machines.recreate(ctx.project.id, input.machineId)),
  delete: projectProcedure
    .input(machineInput)
    .mutation(({ ctx, input }) => ctx.services.machines.delete(ctx.project.id, input.machineId)),
  getPreviewInfo: projectProcedure
    .input(machineInput.extend({ port: z.number().int().min(1).max(65535).default(DAEMON_PORT) }))
    .query(async ({ ctx, input }) => {
      const machine = await ctx.services.machines.get(ctx.project.id, input.machineId);
      return previewInfo(input.organizationSlug, input.projectSlug, machine, input.port);
    }),
  events: projectProcedure
    .input(machineInput)
    .query(({ ctx, input }) => ctx.services.machines.events(ctx.project.id, input.machineId)),
  logs: projectProcedure
    .input(machineInput.extend({ tail: z.number().int().min(1).max(5000).default(300) }))
    .query(async ({ ctx, input }) => ({
      container: await ctx.services.machines.containerLogs(ctx.project.id, input.machineId, input.tail),
    })),
  effectiveEnv: projectProcedure
    .input(machineInput)
    .query(({ ctx, input }) => ctx.services.machines.effectiveEnv(ctx.project.id, input.machineId)),
});
