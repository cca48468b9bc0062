/**
 * The public HTTP API, `/api/v1`: REST over the same tRPC procedures the dashboard calls (through a
 * server-side caller, so access checks, validation, quotas, analytics and realtime updates are theirs), with
 * the shapes of @os2/protocol's api.ts. Routes are declared with @hono/zod-openapi, which validates their
 * input and builds the OpenAPI 3.1 document at `/api/v1/openapi.json` from the same declarations; the
 * daemon-backed routes (exec, files, agents, logs, terminal) are documented here and relayed by
 * daemon-routes.ts. `/api/v1/docs` renders the document.
 *
 * Only project access tokens authenticate: a token names its project, so no path carries one.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import {
  API_MACHINE_LIST_DEFAULT_LIMIT,
  API_MACHINE_LIST_MAX_LIMIT,
  API_PREFIX,
  apiCreateMachineSchema,
  apiEnvVarListSchema,
  apiEnvVarSchema,
  apiErrorCodeFor,
  apiErrorSchema,
  type ApiMachine,
  apiMachineEventListSchema,
  apiMachineListSchema,
  apiMachineSchema,
  apiPreviewSchema,
  apiProjectSchema,
  apiSetEnvVarSchema,
  DAEMON_PORT,
  IDEMPOTENCY_KEY_HEADER,
  machineActionSchema,
  machineRefSchema,
  machineStateSchema,
} from "@os2/protocol";
import { Scalar } from "@scalar/hono-api-reference";
import type { Context as HonoContext } from "hono";
import { HTTPException } from "hono/http-exception";

import type { MachineListItem } from "../../services/machines/machine-list.ts";
import { appRouter } from "../../trpc/app-router.ts";
import { type AppDeps, type Context, createContext } from "../../trpc/context.ts";
import { registerDaemonRoutes } from "./daemon-routes.ts";
import { apiFailure, fromZodError, toApiFailure } from "./errors.ts";

type Scope = {
  organizationSlug: string;
  projectSlug: string;
  projectId: string;
  project: { id: string; name: string; slug: string };
  organization: { id: string; name: string; slug: string };
};

const errorResponses = {
  400: {
    description: "The input is malformed; `field` names it.",
    content: { "application/json": { schema: apiErrorSchema } },
  },
  401: { description: "No valid access token.", content: { "application/json": { schema: apiErrorSchema } } },
  404: {
    description: "Not found in the token's project.",
    content: { "application/json": { schema: apiErrorSchema } },
  },
} as const;
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const security = [{ bearer: [] }];
/** The longest a `GET /machines/{machine}?waitFor=…` holds its answer, and how long when `waitMs` is not given. */
const MAX_WAIT_MS = 60_000;
const DEFAULT_WAIT_MS = 30_000;
const waitQuery = z
  .object({
    waitFor: machineStateSchema.optional().openapi({
      description:
        "Hold the answer until the machine is in this state, or `error`, or `waitMs` has passed; it is then the machine as it is. " +
        "Without it the answer is immediate.",
    }),
    waitMs: z
      .string()
      .regex(/^\d{1,9}$/, `Use a whole number of milliseconds from 0 to ${MAX_WAIT_MS}`)
      .transform(Number)
      .pipe(z.number().max(MAX_WAIT_MS, `Use 0 to ${MAX_WAIT_MS} milliseconds`))
      .optional()
      .openapi({
        type: "integer",
        description: `With \`waitFor\`: the longest to hold the answer, 0 to ${MAX_WAIT_MS} ms (default ${DEFAULT_WAIT_MS})`,
      }),
  })
  .superRefine((query, context) => {
    if (query.waitMs !== undefined && query.waitFor === undefined)
      context.addIssue({
        code: "custom",
        path: ["waitMs"],
        message: "Give waitFor too: waitMs bounds a wait for a state",
      });
  });
const machineParams = z.object({
  machine: machineRefSchema.describe("The machine's id (`mach_…`) or its name"),
});

/**
 * The API's view of a machine: no credentials, no provider internals. `envPendingRestart` comes with a list
 * item (machine-list.ts) and machine.byId; a machine just made took the project's env as it is, so it has
 * none pending.
 */
export function toApiMachine(row: ApiMachineSource): ApiMachine {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    state: row.observedState,
    desiredState: row.desiredState,
    lastError: row.lastError,
    limits: {
      cpus: row.cpuMillis === null ? null : row.cpuMillis / 1000,
      memoryMb: row.memoryMb,
      pids: row.pids,
      diskMb: row.diskMb,
    },
    createdAt: row.createdAt.toISOString(),
    readyAt: row.readyAt?.toISOString() ?? null,
    envPendingRestart: row.envPendingRestart ?? false,
  };
}
/** What both a list item (machine-list.ts) and a whole machine carry. */
type ApiMachineSource = Pick<
  MachineListItem,
  | "id"
  | "name"
  | "type"
  | "observedState"
  | "desiredState"
  | "lastError"
  | "cpuMillis"
  | "memoryMb"
  | "pids"
  | "diskMb"
  | "createdAt"
  | "readyAt"
> & { envPendingRestart?: boolean };

/** @scalar/api-reference's browser bundle (4.8 MB), read once on first use. */
let scalarBundleCache: Buffer | undefined;
function scalarBundle(): Buffer {
  scalarBundleCache ??= fs.readFileSync(
    path.join(path.dirname(fileURLToPath(import.meta.resolve("@scalar/api-reference"))), "browser/standalone.js"),
  );
  return scalarBundleCache;
}

type Variables = { caller: { ctx: Context; scope: Scope } };

export function createApiV1(deps: AppDeps) {
  const app = new OpenAPIHono<{ Variables: Variables }>({
    // Input the declarations refuse: one 400 in the API's error shape, naming the field.
    defaultHook: (result, c) => {
      if (!result.success) {
        const failure = fromZodError(result.error);
        return c.json(failure.body, 400);
      }
      return undefined;
    },
  });

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "A project access token (`pat_…`), made on the project's Access tokens page.",
  });

  /** The caller's tRPC context and scope: only a project access token passes. */
  async function scopeOf(c: HonoContext<{ Variables: Variables }>): Promise<{ ctx: Context; scope: Scope }> {
    const ctx = await createContext(deps, c.req.raw.headers);
    const { project, organization } = await deps.services.access.tokenProject(ctx.caller);
    return {
      ctx,
      scope: {
        organizationSlug: organization.slug,
        projectSlug: project.slug,
        projectId: project.id,
        project,
        organization,
      },
    };
  }

  /**
   * Runs a handler with the caller's procedures; every failure becomes the API's error shape. Typed as
   * `never` because a route's handler must answer one of its declared responses, and the failures are
   * declared per route; the contract test checks every answer against the document instead.
   */
  async function handle(
    c: HonoContext<{ Variables: Variables }>,
    work: (api: ReturnType<typeof appRouter.createCaller>, scope: Scope, ctx: Context) => Promise<Response>,
  ): Promise<never> {
    try {
      const { ctx, scope } = c.get("caller");
      return (await work(appRouter.createCaller(ctx), scope, ctx)) as never;
    } catch (error) {
      const failure = toApiFailure(error, deps.log);
      return c.json(failure.body, failure.status as 400) as never;
    }
  }

  // Who is calling comes first, so a call without a token is a 401 whatever its input.
  app.use("*", async (c, next) => {
    if (c.req.path === `${API_PREFIX}/openapi.json` || c.req.path.startsWith(`${API_PREFIX}/docs`)) return next();
    try {
      c.set("caller", await scopeOf(c));
    } catch (error) {
      const failure = toApiFailure(error, deps.log);
      return c.json(failure.body, failure.status as 400);
    }
    return next();
  });

  const machineOf = async (scope: Scope, ref: string) => deps.services.machines.findByRef(scope.projectId, ref);
  const publicMachine = async (api: ReturnType<typeof appRouter.createCaller>, scope: Scope, id: string) =>
    toApiMachine(
      await api.machine.byId({
        organizationSlug: scope.organizationSlug,
        projectSlug: scope.projectSlug,
        machineId: id,
      }),
    );

  app.openapi(
    createRoute({
      method: "get",
      path: "/project",
      summary: "The project this token belongs to",
      tags: ["Project"],
      security,
      responses: { 200: json(apiProjectSchema, "The token's project"), 401: errorResponses[401] },
    }),
    (c) =>
      handle(c, async (_api, { project, organization }) => {
        return c.json(
          {
            id: project.id,
            name: project.name,
            slug: project.slug,
            organization: { id: organization.id, slug: organization.slug, name: organization.name },
          },
          200,
        );
      }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/machines",
      summary: "List machines",
      description:
        `A page of the project's machines, newest first: \`limit\` of them (default ${API_MACHINE_LIST_DEFAULT_LIMIT}, ` +
        `at most ${API_MACHINE_LIST_MAX_LIMIT}). While \`nextCursor\` is not null, pass it as \`cursor\` for the next ` +
        "page; a walk sees every machine that existed when it began exactly once, even as machines are created.",
      tags: ["Machines"],
      security,
      request: {
        query: z.object({
          includeArchived: z
            .enum(["true", "false"])
            .optional()
            .openapi({ description: "Include archived machines (default false)" }),
          limit: z
            .string()
            .regex(/^\d{1,9}$/, `Use a whole number from 1 to ${API_MACHINE_LIST_MAX_LIMIT}`)
            .transform(Number)
            .pipe(
              z
                .number()
                .min(1, `Use 1 to ${API_MACHINE_LIST_MAX_LIMIT}`)
                .max(API_MACHINE_LIST_MAX_LIMIT, `Use 1 to ${API_MACHINE_LIST_MAX_LIMIT}`),
            )
            .optional()
            .openapi({
              type: "integer",
              description: `Machines per page, 1 to ${API_MACHINE_LIST_MAX_LIMIT} (default ${API_MACHINE_LIST_DEFAULT_LIMIT})`,
            }),
          cursor: z
            .string()
            .optional()
            .openapi({ description: "The previous page's `nextCursor`; omit it for the first page" }),
        }),
      },
      responses: {
        200: json(apiMachineListSchema, "A page of the project's machines, newest first"),
        400: errorResponses[400],
        401: errorResponses[401],
      },
    }),
    (c) =>
      handle(c, async (api, scope) => {
        const query = c.req.valid("query");
        const page = await api.machine.list({
          organizationSlug: scope.organizationSlug,
          projectSlug: scope.projectSlug,
          includeArchived: query.includeArchived === "true",
          ...(query.limit === undefined ? {} : { limit: query.limit }),
          ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
        });
        return c.json({ machines: page.machines.map(toApiMachine), nextCursor: page.nextCursor }, 200);
      }),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/machines",
      summary: "Create a machine",
      description:
        "Answers at once with the machine `creating`; `GET /machines/{machine}?waitFor=running` then answers when it is `running` (the SDK's `wait` does this). " +
        "With an `Idempotency-Key`, a retry answers the machine the first request made (200) instead of making another.",
      tags: ["Machines"],
      security,
      request: {
        headers: z.object({
          [IDEMPOTENCY_KEY_HEADER]: z
            .string()
            .optional()
            .openapi({ description: "Any unique string, 1–200 printable ASCII" }),
        }),
        body: { content: { "application/json": { schema: apiCreateMachineSchema } }, required: false },
      },
      responses: {
        201: json(apiMachineSchema, "Created"),
        200: json(apiMachineSchema, "Already created by an earlier request with this Idempotency-Key"),
        400: errorResponses[400],
        401: errorResponses[401],
        403: json(apiErrorSchema, "Over the organization's quota of running machines"),
        503: json(apiErrorSchema, "The provider (Docker, Daytona) does not answer"),
      },
    }),
    (c) =>
      handle(c, async (api, scope) => {
        const body = c.req.valid("json") ?? apiCreateMachineSchema.parse({});
        const create = async () =>
          api.machine.create({
            organizationSlug: scope.organizationSlug,
            projectSlug: scope.projectSlug,
            name: body.name ?? `machine-${randomBytes(3).toString("hex")}`,
            type: body.type,
            ...(body.limits ? { limits: body.limits } : {}),
          });
        const key = c.req.valid("header")[IDEMPOTENCY_KEY_HEADER];
        if (!key) return c.json(toApiMachine(await create()), 201);
        const { machineId, made } = await deps.services.idempotency.once(scope.projectId, key, create);
        // The machine this request made is in hand; a replay reads the earlier request's as it is now.
        if (made) return c.json(toApiMachine(made), 201);
        return c.json(await publicMachine(api, scope, machineId), 200);
      }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/machines/{machine}",
      summary: "Get a machine",
      description:
        "With `waitFor`, a long poll: the answer comes the moment the machine reaches that state (or `error`), or after `waitMs`. " +
        "Check `state` and ask again to wait longer. Each access token holds up to 32 waits at once; beyond that the answer is immediate.",
      tags: ["Machines"],
      security,
      request: { params: machineParams, query: waitQuery },
      responses: {
        200: json(apiMachineSchema, "The machine"),
        400: errorResponses[400],
        401: errorResponses[401],
        404: errorResponses[404],
      },
    }),
    (c) =>
      handle(c, async (api, scope, ctx) => {
        const row = await machineOf(scope, c.req.valid("param").machine);
        const { waitFor, waitMs } = c.req.valid("query");
        if (waitFor) {
          let free: (() => void) | null = null;
          try {
            free = deps.services.machineWaits.take(ctx.caller);
          } catch {
            // At the bound (per token, or server-wide): the answer is immediate, and the client polls.
          }
          try {
            if (free)
              await deps.services.machines.waitForState({
                projectId: scope.projectId,
                organizationId: scope.organization.id,
                machineId: row.id,
                states: [waitFor],
                waitMs: waitMs ?? DEFAULT_WAIT_MS,
                signal: c.req.raw.signal,
              });
          } finally {
            free?.();
          }
        }
        return c.json(await publicMachine(api, scope, row.id), 200);
      }),
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/machines/{machine}/{action}",
      summary: "Start, stop, restart, archive, unarchive or recreate a machine",
      description: "Answers with the machine once the request is recorded; the change itself may take a moment.",
      tags: ["Machines"],
      security,
      request: { params: machineParams.extend({ action: machineActionSchema }) },
      responses: {
        200: json(apiMachineSchema, "The machine, with its new desired state"),
        400: errorResponses[400],
        401: errorResponses[401],
        404: errorResponses[404],
        412: json(apiErrorSchema, "The action does not fit the machine's state"),
      },
    }),
    (c) =>
      handle(c, async (api, scope) => {
        const { machine: ref, action } = c.req.valid("param");
        const row = await machineOf(scope, ref);
        const input = { organizationSlug: scope.organizationSlug, projectSlug: scope.projectSlug, machineId: row.id };
        await api.machine[action](input);
        return c.json(await publicMachine(api, scope, row.id), 200);
      }),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/machines/{machine}",
      summary: "Delete a machine",
      description:
        "`force=true` forgets a machine whose provider cannot delete it now (what is left is removed later).",
      tags: ["Machines"],
      security,
      request: {
        params: machineParams,
        query: z.object({ force: z.enum(["true", "false"]).optional() }),
      },
      responses: {
        200: json(z.object({ id: z.string() }), "Deletion recorded; the machine goes away shortly"),
        401: errorResponses[401],
        404: errorResponses[404],
      },
    }),
    (c) =>
      handle(c, async (api, scope) => {
        const row = await machineOf(scope, c.req.valid("param").machine);
        await api.machine.delete({
          organizationSlug: scope.organizationSlug,
          projectSlug: scope.projectSlug,
          machineId: row.id,
          ...(c.req.valid("query").force === "true" ? { force: true } : {}),
        });
        return c.json({ id: row.id }, 200);
      }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/machines/{machine}/events",
      summary: "A machine's state changes, newest first",
      tags: ["Machines"],
      security,
      request: { params: machineParams },
      responses: { 200: json(apiMachineEventListSchema, "Events"), 401: errorResponses[401], 404: errorResponses[404] },
    }),
    (c) =>
      handle(c, async (api, scope) => {
        const row = await machineOf(scope, c.req.valid("param").machine);
        const events = await api.machine.events({
          organizationSlug: scope.organizationSlug,
          projectSlug: scope.projectSlug,
          machineId: row.id,
        });
        return c.json(
          {
            events: events.map((event) => ({
              id: event.id,
              fromState: event.fromState,
              toState: event.toState,
              reason: event.reason,
              detail: event.detail,
              durationMs: event.durationMs,
              createdAt: event.createdAt.toISOString(),
            })),
          },
          200,
        );
      }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/machines/{machine}/preview",
      summary: "The preview URL of one port of a machine",
      description:
        "Any port, HTTP and WebSocket, on its own origin. Open it with the token as Bearer, or in a browser after signing in.",
      tags: ["Machines"],
      security,
      request: {
        params: machineParams,
        query: z.object({ port: z.coerce.number().int().min(1).max(65535).default(DAEMON_PORT) }),
      },
      responses: {
        200: json(apiPreviewSchema, "The port's URL"),
        400: errorResponses[400],
        401: errorResponses[401],
        404: errorResponses[404],
      },
    }),
    (c) =>
      handle(c, async (api, scope) => {
        const row = await machineOf(scope, c.req.valid("param").machine);
        const { port } = c.req.valid("query");
        const info = await api.machine.getPreviewInfo({
          organizationSlug: scope.organizationSlug,
          projectSlug: scope.projectSlug,
          machineId: row.id,
          port,
        });
        return c.json({ port, url: info.previewUrl }, 200);
      }),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/env-vars",
      summary: "List the project's env vars (never their values)",
      tags: ["Env vars"],
      security,
      responses: { 200: json(apiEnvVarListSchema, "Env vars"), 401: errorResponses[401] },
    }),
    (c) =>
      handle(c, async (api, scope) => {
        const rows = await api.envVar.list({
          organizationSlug: scope.organizationSlug,
          projectSlug: scope.projectSlug,
        });
        return c.json({ envVars: rows.map((row) => ({ id: row.id, key: row.key, machineId: row.machineId })) }, 200);
      }),
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/env-vars/{key}",
      summary: "Set an env var (project-wide, or one machine's override)",
      description: "Applies at each machine's next start.",
      tags: ["Env vars"],
      security,
      request: {
        params: z.object({ key: z.string().openapi({ example: "API_TOKEN" }) }),
        body: { content: { "application/json": { schema: apiSetEnvVarSchema } }, required: true },
      },
      responses: {
        200: json(apiEnvVarSchema, "The variable"),
        400: errorResponses[400],
        401: errorResponses[401],
        404: errorResponses[404],
      },
    }),
    (c) =>
      handle(c, async (api, scope) => {
        const body = c.req.valid("json");
        const set = await api.envVar.set({
          organizationSlug: scope.organizationSlug,
          projectSlug: scope.projectSlug,
          key: c.req.valid("param").key,
          value: body.value,
          machineId: body.machineId,
        });
        return c.json({ id: set.id, key: set.key, machineId: set.machineId }, 200);
      }),
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/env-vars/{id}",
      summary: "Delete an env var",
      tags: ["Env vars"],
      security,
      request: { params: z.object({ id: z.string().openapi({ example: "env_01…" }) }) },
      responses: {
        200: json(z.object({ id: z.string() }), "Deleted"),
        400: errorResponses[400],
        401: errorResponses[401],
        404: errorResponses[404],
      },
    }),
    (c) =>
      handle(c, async (api, scope) => {
        const { id } = c.req.valid("param");
        await api.envVar.delete({ organizationSlug: scope.organizationSlug, projectSlug: scope.projectSlug, id });
        return c.json({ id }, 200);
      }),
  );

  registerDaemonRoutes(app.openAPIRegistry, { security, machineParams, errorResponses });

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "os2 API",
      version: "1.0.0",
      description:
        "Drive os2 from scripts: machines, their lifecycle, env vars, and what runs inside them. Authenticate with a project access token as `Authorization: Bearer pat_…`. Every error is `{ error, message, field? }`.",
    },
    servers: [{ url: API_PREFIX }],
    security: [{ bearer: [] }],
  });
  // The reference page's script is served from here rather than a CDN, so it renders on an offline host too.
  app.get("/docs/scalar.js", (c) => {
    c.header("content-type", "text/javascript; charset=utf-8");
    c.header("cache-control", "public, max-age=86400");
    return c.body(new Uint8Array(scalarBundle()));
  });
  app.get(
    "/docs",
    Scalar({ url: `${API_PREFIX}/openapi.json`, pageTitle: "os2 API", cdn: `${API_PREFIX}/docs/scalar.js` }),
  );
  app.notFound((c) => {
    const failure = apiFailure(
      404,
      "not_found",
      `No route ${c.req.method} ${c.req.path}; see ${API_PREFIX}/openapi.json`,
    );
    return c.json(failure.body, 404);
  });
  app.onError((error, c) => {
    // Hono's own refusals (malformed JSON, a body over the limit) carry their status.
    if (error instanceof HTTPException && error.status < 500) {
      const failure = apiFailure(error.status, apiErrorCodeFor(error.status), error.message);
      return c.json(failure.body, failure.status as 400);
    }
    const failure = toApiFailure(error, deps.log);
    return c.json(failure.body, failure.status as 400);
  });
  return app;
}
