import { DAEMON_PORT } from "@os2/protocol";
import { TRPCError } from "@trpc/server";
import { z } from "zod";

import {
  BAD_CURSOR_MESSAGE,
  decodeMachineCursor,
  MACHINE_CURSOR_MAX_LENGTH,
  MACHINE_LIST_DEFAULT_LIMIT,
  MACHINE_LIST_MAX_LIMIT,
} from "../../services/machines/machine-list.ts";
import { MACHINE_TYPES, type PublicMachine } from "../../services/machines/machine-service.ts";
import { USAGE_MAX_MACHINES, type UsageWatchInput } from "../../services/machines/usage.ts";
import type { Context } from "../context.ts";
import { projectProcedure, router } from "../init.ts";
import { asStreamError, holdStreamSlot, whileMachineReadable } from "../live-access.ts";
import { idSchema, machineLimitsSchema, toLimitsRequest } from "../schemas.ts";
import { shared } from "../serialization.ts";

export const machineNameSchema = z
  .string()
  .trim()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    "Use 1–63 lowercase letters, digits or dashes, starting with a letter or digit (e.g. brave-otter-42)",
  );

const machineInput = z.object({ machineId: idSchema("mach") });

/**
 * Usage samples for a subscription, holding one of the caller's stream slots; the service re-checks the
 * caller's access as it streams. Errors raised mid-stream bypass the error middleware, so they become tRPC
 * errors here.
 */
async function* usageEvents(
  ctx: Pick<Context, "services" | "caller">,
  input: Omit<UsageWatchInput, "signal">,
  signal: AbortSignal | undefined,
) {
  const slot = holdStreamSlot(ctx, signal);
  try {
    yield* ctx.services.usage.watch({ ...input, signal: signal ?? new AbortController().signal });
  } catch (error) {
    throw asStreamError(error);
  } finally {
    slot.release();
  }
}

/** A cursor is checked for shape here (a bad one is a 400 on `cursor`); the service checks it is this project's. */
const machineListInput = z.object({
  includeArchived: z.boolean().default(false),
  limit: z
    .number()
    .int("Must be a whole number")
    .min(1, `Use 1 to ${MACHINE_LIST_MAX_LIMIT}`)
    .max(MACHINE_LIST_MAX_LIMIT, `Use 1 to ${MACHINE_LIST_MAX_LIMIT}`)
    .default(MACHINE_LIST_DEFAULT_LIMIT),
  cursor: z
    .string()
    .max(MACHINE_CURSOR_MAX_LENGTH, BAD_CURSOR_MESSAGE)
    .transform((text, context) => {
      const cursor = decodeMachineCursor(text);
      if (!cursor) context.addIssue({ code: "custom", message: BAD_CURSOR_MESSAGE });
      return cursor ?? z.NEVER;
    })
    .nullish()
    .transform((cursor) => cursor ?? undefined),
});

/**
 * A 400 naming `field`, shaped like a failed input validation (its cause carries zod-style `issues`), so the
 * error formatter and the HTTP API name the field as they do for any other bad input.
 */
function invalidInput(field: string, message: string): TRPCError {
  return new TRPCError({
    code: "BAD_REQUEST",
    message: `${field}: ${message}`,
    cause: Object.assign(new Error(`${field}: ${message}`), { issues: [{ path: [field], message }] }),
  });
}

const logsInput = machineInput.extend({ tail: z.number().int().min(1).max(5000).default(300) });

/**
 * Where a port of the machine opens: its preview origin (`previewUrl`, any port), and for the daemon the
 * dashboard's own route to it (`proxyPath`) and, on local Docker, its loopback address.
 */
function previewInfo(
  input: { organizationSlug: string; projectSlug: string; port: number },
  machine: PublicMachine,
  previewUrlFor: (machineId: string, port: number) => string,
) {
  const metadata = machine.metadata as { port?: number; snapshotName?: string };
  const isDaemon = input.port === DAEMON_PORT;
  return {
    port: input.port,
    previewUrl: `${previewUrlFor(machine.id, input.port)}/`,
    proxyPath: isDaemon
      ? `/org/${input.organizationSlug}/proj/${input.projectSlug}/${machine.id}/proxy/${DAEMON_PORT}/`
      : null,
    directUrl:
      isDaemon && machine.type === "local-docker" && metadata.port ? `http://localhost:${metadata.port}` : null,
    snapshotName: metadata.snapshotName ?? null,
  };
}

export const machineRouter = router({
  types: projectProcedure.query(({ ctx }) => ctx.services.machines.availability()),
  /**
   * A page of the project's machines, newest first, as list views show them (no credential, no provider
   * metadata): `limit` per page (default 50, at most 200) and `cursor`, the previous page's `nextCursor`
   * (null on the last page).
   */
  list: projectProcedure.input(machineListInput).query(async ({ ctx, input }) => {
    // A cursor of another project's list: a 400 on `cursor`, like a malformed one.
    if (input.cursor && input.cursor.projectId !== ctx.project.id) throw invalidInput("cursor", BAD_CURSOR_MESSAGE);
    const page = await ctx.services.machines.listPage(ctx.project.organizationId, ctx.project.id, {
      includeArchived: input.includeArchived,
      limit: input.limit,
      cursor: input.cursor,
    });
    // Often the very object other callers got (the list cache): encoded once for all of them.
    return shared(page);
  }),
  /** How many machines the project has, running and archived (the overview and the list's empty state). */
  counts: projectProcedure.query(({ ctx }) => ctx.services.machines.counts(ctx.project.id)),
  byId: projectProcedure
    .input(machineInput)
    .query(({ ctx, input }) => ctx.services.machines.view(ctx.project.id, input.machineId)),
  create: projectProcedure
    .input(
      z.object({
        name: machineNameSchema,
        type: z.enum(MACHINE_TYPES, { error: () => `Must be one of: ${MACHINE_TYPES.join(", ")}` }),
        limits: machineLimitsSchema.optional(),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.services.machines.create({
        projectId: ctx.project.id,
        name: input.name,
        type: input.type,
        userId: ctx.user?.id ?? null,
        limits: toLimitsRequest(input.limits),
      }),
    ),
  /** What a new machine of this project gets and may ask for, and what each provider applies. */
  limits: projectProcedure.query(({ ctx }) => ctx.services.machines.limits(ctx.project.id)),
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
    .input(machineInput.extend({ force: z.boolean().optional() }))
    .mutation(({ ctx, input }) =>
      ctx.services.machines.delete(ctx.project.id, input.machineId, input.force ? { force: true } : {}),
    ),
  getPreviewInfo: projectProcedure
    .input(machineInput.extend({ port: z.number().int().min(1).max(65535).default(DAEMON_PORT) }))
    .query(async ({ ctx, input }) => {
      const machine = await ctx.services.machines.get(ctx.project.id, input.machineId);
      return previewInfo(input, machine, ctx.previewUrlFor);
    }),
  /** TCP ports something listens on inside the machine, each with its preview URL. */
  ports: projectProcedure.input(machineInput).query(async ({ ctx, input }) => {
    const ports = await ctx.services.machines.listeningPorts(ctx.project.id, input.machineId);
    return ports.map((port) => ({
      ...port,
      isDaemon: port.port === DAEMON_PORT,
      previewUrl: `${ctx.previewUrlFor(input.machineId, port.port)}/`,
    }));
  }),
  events: projectProcedure
    .input(machineInput)
    .query(({ ctx, input }) => ctx.services.machines.events(ctx.project.id, input.machineId)),
  logs: projectProcedure.input(logsInput).query(async ({ ctx, input }) => {
    const container = await ctx.services.machines.containerLogs(ctx.project.id, input.machineId, input.tail);
    // `supported: false`: this provider keeps no container output (Daytona); the service logs still work.
    return { container: container ?? "", supported: container !== null };
  }),
  /**
   * The container's logs followed (server-sent events): `reset` with the last `tail` lines, then `append`
   * batches as the machine writes, `ended` when the container stops. The access is re-checked every few
   * seconds, so a caller who loses it stops receiving. Holds one of the caller's stream slots while open.
   */
  followLogs: projectProcedure.input(logsInput).subscription(async function* ({ ctx, input, signal }) {
    const slot = holdStreamSlot(ctx, signal);
    const live = whileMachineReadable(ctx, input, signal);
    try {
      const events = ctx.services.machines.followContainerLogs(
        ctx.project.id,
        input.machineId,
        input.tail,
        live.signal,
      );
      for await (const event of events) {
        if (live.signal.aborted) break;
        yield event;
      }
    } catch (error) {
      if (!live.lost()) throw asStreamError(error);
    } finally {
      live.stop();
      slot.release();
    }
    const lost = live.lost();
    if (lost) throw lost;
  }),
  /**
   * Live usage of one machine (server-sent events): a sample about once a second while it runs, CPU as a
   * share of its CPU limit and in cores, memory, processes and disk against its limits.
   */
  usage: projectProcedure.input(machineInput).subscription(async function* ({ ctx, input, signal }) {
    const scope = { ...input, projectId: ctx.project.id, headers: ctx.headers, machineIds: [input.machineId] };
    for await (const event of usageEvents(ctx, scope, signal)) yield event.sample;
  }),
  /** The same for several machines at once (the machines table's visible rows), each sample with its id. */
  usageMany: projectProcedure
    .input(z.object({ machineIds: z.array(idSchema("mach")).max(USAGE_MAX_MACHINES) }))
    .subscription(async function* ({ ctx, input, signal }) {
      yield* usageEvents(ctx, { ...input, projectId: ctx.project.id, headers: ctx.headers }, signal);
    }),
  effectiveEnv: projectProcedure
    .input(machineInput)
    .query(({ ctx, input }) => ctx.services.machines.effectiveEnv(ctx.project.id, input.machineId)),
});
