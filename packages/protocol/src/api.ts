/**
 * The control plane's public HTTP API, `/api/v1` (documented at `/api/v1/openapi.json`): the shapes of its
 * resources, requests and errors. The server builds its routes and OpenAPI document from these; the SDK
 * (`@os2/sdk`) parses every answer with them. An access token (`Authorization: Bearer pat_…`) names its
 * project, so no path carries an organization or project.
 *
 * Daemon-backed routes (`/api/v1/machines/{machine}/exec`, `/files…`, `/agents…`, `/logs…`, `/terminal`)
 * take and answer the daemon's own schemas (exec.ts, files.ts, agents.ts, logs.ts, tmux.ts).
 */
import { z } from "zod";

export const API_PREFIX = "/api/v1";

/** A machine's id (`mach_…`) or its name, unique within the token's project. */
export const machineRefSchema = z.string().min(1).max(100);

export const machineTypeSchema = z.enum(["local-docker", "daytona"]);
export type MachineType = z.infer<typeof machineTypeSchema>;

export const machineDesiredStateSchema = z.enum(["running", "stopped", "archived", "deleted"]);
export const machineStateSchema = z.enum([
  "creating",
  "starting",
  "running",
  "stopping",
  "stopped",
  "archived",
  "deleting",
  "error",
]);
export type MachineState = z.infer<typeof machineStateSchema>;

export const apiMachineLimitsSchema = z.object({
  cpus: z.number().nullable(),
  memoryMb: z.number().int().nullable(),
  pids: z.number().int().nullable(),
  diskMb: z.number().int().nullable(),
});

export const apiMachineSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: machineTypeSchema,
  /** What the machine is doing now, as os2 last observed it. */
  state: machineStateSchema,
  /** What it was asked to be. */
  desiredState: machineDesiredStateSchema,
  lastError: z.string().nullable(),
  limits: apiMachineLimitsSchema,
  createdAt: z.string(),
  readyAt: z.string().nullable(),
  /** Running with an older environment than the project's current one: a restart applies it. */
  envPendingRestart: z.boolean(),
});
export type ApiMachine = z.infer<typeof apiMachineSchema>;

/** Machines per page of `GET /machines`: 50 unless `limit` says otherwise, at most 200. */
export const API_MACHINE_LIST_DEFAULT_LIMIT = 50;
export const API_MACHINE_LIST_MAX_LIMIT = 200;

/**
 * One page of `GET /machines`, newest first. `nextCursor` is opaque: pass it as `cursor` for the next
 * page; null on the last one.
 */
export const apiMachineListSchema = z.object({
  machines: z.array(apiMachineSchema),
  nextCursor: z.string().nullable(),
});
export type ApiMachineList = z.infer<typeof apiMachineListSchema>;

export const apiCreateMachineSchema = z.object({
  /** Defaults to a generated two-word name. */
  name: z.string().min(1).max(100).optional(),
  type: machineTypeSchema.default("local-docker"),
  limits: z
    .object({
      cpus: z.number().positive().optional(),
      memoryMb: z.number().int().positive().optional(),
      pids: z.number().int().positive().optional(),
    })
    .optional(),
});
export type ApiCreateMachine = z.input<typeof apiCreateMachineSchema>;

/** Header for `POST /machines`: a retried create with the same key answers the machine the first one made. */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";

export const machineActionSchema = z.enum(["start", "stop", "restart", "archive", "unarchive", "recreate"]);
export type MachineAction = z.infer<typeof machineActionSchema>;

export const apiMachineEventSchema = z.object({
  id: z.string(),
  fromState: z.string().nullable(),
  toState: z.string(),
  reason: z.string(),
  detail: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  createdAt: z.string(),
});
export const apiMachineEventListSchema = z.object({ events: z.array(apiMachineEventSchema) });

export const apiPreviewSchema = z.object({ port: z.number().int(), url: z.string() });

export const apiProjectSchema = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  organization: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
});
export type ApiProject = z.infer<typeof apiProjectSchema>;

export const apiEnvVarSchema = z.object({
  id: z.string(),
  key: z.string(),
  /** null: project-wide; else this machine's override. Values are never returned. */
  machineId: z.string().nullable(),
});
export const apiEnvVarListSchema = z.object({ envVars: z.array(apiEnvVarSchema) });
export const apiSetEnvVarSchema = z.object({
  value: z.string(),
  machineId: z.string().nullable().default(null),
});

export const apiErrorCodeSchema = z.enum([
  "bad_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "precondition_failed",
  "payload_too_large",
  "rate_limited",
  "timeout",
  "unavailable",
  "bad_gateway",
  "internal",
]);
export type ApiErrorCode = z.infer<typeof apiErrorCodeSchema>;

/**
 * Every non-2xx answer of `/api/v1`, the daemon-backed routes included: the daemon's own error shape
 * (common.ts) with a wider set of codes. `field` names the offending input (a dotted path) when there is one.
 */
export const apiErrorSchema = z.object({
  error: apiErrorCodeSchema,
  message: z.string(),
  field: z.string().optional(),
});
export type ApiError = z.infer<typeof apiErrorSchema>;

/** The code that goes with an HTTP status when nothing more precise is known (the proxy's own answers). */
export function apiErrorCodeFor(status: number): ApiErrorCode {
  const codes: Record<number, ApiErrorCode> = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    414: "bad_request",
    429: "rate_limited",
    502: "bad_gateway",
    503: "unavailable",
    504: "timeout",
  };
  return codes[status] ?? (status >= 500 ? "internal" : "bad_request");
}
