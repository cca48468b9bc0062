/**
 * The daemon-backed part of `/api/v1`: `/api/v1/machines/{machine}/<exec|files|agents|logs|tmux|ports|terminal>…`
 * is the daemon's own API (@os2/protocol's exec.ts, files.ts, agents.ts, logs.ts, tmux.ts), reached through
 * the dashboard door (proxy/dashboard-door.ts), which checks the token's access, adds the daemon's
 * credential, streams NDJSON and WebSocket frames, and passes only the daemon's JSON. This module resolves
 * `{machine}` (id or name) in the token's project into the door's target, and documents the routes.
 */
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import {
  agentCreateRequestSchema,
  agentListResponseSchema,
  agentOutputResponseSchema,
  agentSchema,
  API_PREFIX,
  apiErrorSchema,
  DAEMON_PORT,
  execRequestSchema,
  execResultSchema,
  execStreamEventSchema,
  fileReadResponseSchema,
  filesListResponseSchema,
  fileWriteRequestSchema,
  fileWriteResponseSchema,
  logsListResponseSchema,
  logsReadResponseSchema,
} from "@os2/protocol";

import type { ProxyTarget } from "../../proxy/proxy-path.ts";
import type { AccessService } from "../../services/access.ts";
import { asDomainError } from "../../services/errors.ts";
import type { MachineService } from "../../services/machines/machine-service.ts";

/** Top-level daemon route → the daemon's path prefix. The terminal is the daemon's PTY WebSocket. */
const DAEMON_PATHS: Record<string, string> = {
  exec: "/api/exec",
  files: "/api/files",
  agents: "/api/agents",
  logs: "/api/logs",
  tmux: "/api/tmux",
  ports: "/api/ports",
  terminal: "/api/pty/ws",
};

const PATTERN = new RegExp(`^${API_PREFIX}/machines/([^/]+)/(${Object.keys(DAEMON_PATHS).join("|")})(/.*)?$`);

export type DaemonRouteMatch = { ref: string; route: string; rest: string };

/** Whether this path is a daemon-backed route of the API; null for every other path. */
export function matchDaemonRoute(pathname: string): DaemonRouteMatch | null {
  const match = PATTERN.exec(pathname);
  if (!match) return null;
  let ref: string;
  try {
    ref = decodeURIComponent(match[1] ?? "");
  } catch {
    return null;
  }
  const route = match[2] ?? "";
  if (route === "terminal" && match[3]) return null;
  return { ref, route, rest: match[3] ?? "" };
}

/**
 * The dashboard door's target for a daemon route, or the refusal to answer (401 without a token, 404 for a
 * machine the token's project does not have).
 */
export async function resolveDaemonRoute(
  deps: { access: AccessService; machines: MachineService },
  headers: Headers,
  match: DaemonRouteMatch,
): Promise<{ target: ProxyTarget } | { status: number; message: string }> {
  try {
    const caller = await deps.access.identify(headers);
    const { project, organization } = await deps.access.tokenProject(caller);
    const row = await deps.machines.findByRef(project.id, match.ref);
    return {
      target: {
        organizationSlug: organization.slug,
        projectSlug: project.slug,
        machineId: row.id,
        port: DAEMON_PORT,
        rest: `${DAEMON_PATHS[match.route] ?? ""}${match.rest}`,
      },
    };
  } catch (error) {
    const domain = asDomainError(error);
    if (domain?.kind === "unauthorized") return { status: 401, message: domain.message };
    if (domain?.kind === "not_found") return { status: 404, message: domain.message };
    throw error;
  }
}

type DocParts = {
  security: Array<Record<string, string[]>>;
  machineParams: z.ZodObject<{ machine: z.ZodString }>;
  errorResponses: Record<
    400 | 401 | 404,
    { description: string; content: { "application/json": { schema: typeof apiErrorSchema } } }
  >;
};

/** The daemon-backed routes in the OpenAPI document (their handler is the door, not Hono). */
export function registerDaemonRoutes(registry: OpenAPIHono["openAPIRegistry"], parts: DocParts): void {
  const { security, machineParams, errorResponses } = parts;
  const errors = { 400: errorResponses[400], 401: errorResponses[401], 404: errorResponses[404] };
  const ok = (schema: z.ZodType, description: string) => ({ description, content: { "application/json": { schema } } });
  const tags = ["Inside a machine"];
  const path = (rest: string) => `/machines/{machine}${rest}`;

  registry.registerPath({
    method: "post",
    path: path("/exec"),
    summary: "Run a command",
    description:
      "Runs `command` with `args` directly (no shell). With `stream: true` the answer is NDJSON (`application/x-ndjson`): `stdout`/`stderr` lines as output arrives, then one `exit` line with the exit code (128+n after signal n).",
    tags,
    security,
    request: { params: machineParams, body: { content: { "application/json": { schema: execRequestSchema } } } },
    responses: {
      200: {
        description: "The result, or the stream of events",
        content: {
          "application/json": { schema: execResultSchema },
          "application/x-ndjson": { schema: execStreamEventSchema },
        },
      },
      ...errors,
    },
  });
  registry.registerPath({
    method: "get",
    path: path("/files/list"),
    summary: "List a directory",
    tags,
    security,
    request: { params: machineParams, query: z.object({ path: z.string() }) },
    responses: { 200: ok(filesListResponseSchema, "Entries"), ...errors },
  });
  registry.registerPath({
    method: "get",
    path: path("/files/read"),
    summary: "Read a file",
    description: "`encoding=base64` for binary content.",
    tags,
    security,
    request: {
      params: machineParams,
      query: z.object({ path: z.string(), encoding: z.enum(["utf8", "base64"]).optional() }),
    },
    responses: { 200: ok(fileReadResponseSchema, "The file"), ...errors },
  });
  registry.registerPath({
    method: "put",
    path: path("/files/write"),
    summary: "Write a file",
    description: "Parent directories are created. `encoding: base64` for binary content.",
    tags,
    security,
    request: { params: machineParams, body: { content: { "application/json": { schema: fileWriteRequestSchema } } } },
    responses: { 200: ok(fileWriteResponseSchema, "Written"), ...errors },
  });
  registry.registerPath({
    method: "get",
    path: path("/agents"),
    summary: "List agents",
    tags,
    security,
    request: { params: machineParams },
    responses: { 200: ok(agentListResponseSchema, "Agents"), ...errors },
  });
  registry.registerPath({
    method: "post",
    path: path("/agents"),
    summary: "Create (and by default start) an agent",
    tags,
    security,
    request: { params: machineParams, body: { content: { "application/json": { schema: agentCreateRequestSchema } } } },
    responses: { 200: ok(agentSchema, "The agent"), ...errors },
  });
  const agentParams = machineParams.extend({ id: z.string() });
  registry.registerPath({
    method: "get",
    path: path("/agents/{id}"),
    summary: "Describe an agent",
    tags,
    security,
    request: { params: agentParams },
    responses: { 200: ok(agentSchema, "The agent"), ...errors },
  });
  for (const action of ["start", "stop"] as const) {
    registry.registerPath({
      method: "post",
      path: path(`/agents/{id}/${action}`),
      summary: `${action === "start" ? "Start" : "Stop"} an agent`,
      tags,
      security,
      request: { params: agentParams },
      responses: { 200: ok(agentSchema, "The agent"), ...errors },
    });
  }
  registry.registerPath({
    method: "get",
    path: path("/agents/{id}/output"),
    summary: "An agent's recent output",
    tags,
    security,
    request: { params: agentParams, query: z.object({ lines: z.coerce.number().int().min(1).max(10_000).optional() }) },
    responses: { 200: ok(agentOutputResponseSchema, "Output"), ...errors },
  });
  registry.registerPath({
    method: "get",
    path: path("/logs"),
    summary: "The machine's service logs",
    tags,
    security,
    request: { params: machineParams },
    responses: { 200: ok(logsListResponseSchema, "Services with logs"), ...errors },
  });
  registry.registerPath({
    method: "get",
    path: path("/logs/{service}"),
    summary: "One service's recent log lines",
    tags,
    security,
    request: {
      params: machineParams.extend({ service: z.string() }),
      query: z.object({ lines: z.coerce.number().int().min(1).max(10_000).optional() }),
    },
    responses: { 200: ok(logsReadResponseSchema, "Lines"), ...errors },
  });
  registry.registerPath({
    method: "get",
    path: path("/terminal"),
    summary: "A terminal (WebSocket)",
    description:
      'Upgrade to a WebSocket attached to a tmux session (`tmuxSession`, created when missing, so a client can detach and re-attach). Send JSON `{type:"input",data}` and `{type:"resize",cols,rows}`; receive the terminal\'s output.',
    tags,
    security,
    request: {
      params: machineParams,
      query: z.object({
        cols: z.coerce.number().int().optional(),
        rows: z.coerce.number().int().optional(),
        tmuxSession: z.string().optional(),
      }),
    },
    responses: { 101: { description: "Switching to the WebSocket" }, ...errors },
  });
}
