/**
 * Calls to a machine's daemon through the os2 proxy (`proxyPath` from `machine.getPreviewInfo`). Same origin,
 * so the session cookie authenticates and the proxy adds the daemon credential. Every answer is parsed with
 * the daemon's own schemas from `@os2/protocol`, the contract both sides share.
 */
import {
  type AgentCreateRequest,
  agentDeleteResponseSchema,
  agentListResponseSchema,
  agentOutputResponseSchema,
  agentPreflightResponseSchema,
  agentSchema,
  apiErrorSchema,
  type Harness,
  logsListResponseSchema,
  logsReadResponseSchema,
} from "@os2/protocol";
import type { z } from "zod";

export { type Agent, type Harness, HARNESSES } from "@os2/protocol";

export class DaemonRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "DaemonRequestError";
  }
}

async function daemonRequest<T>(
  proxyPath: string,
  path: string,
  schema: z.ZodType<T>,
  init: RequestInit = {},
): Promise<T> {
  const response = await fetch(`${proxyPath}${path}`, {
    ...init,
    credentials: "same-origin",
    headers: {
      accept: "application/json",
      ...(init.body ? { "content-type": "application/json" } : {}),
      ...init.headers,
    },
  });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    // The daemon and the proxy's own answers (a machine that does not answer, a caller who may not reach
    // it) share one error shape.
    const error = apiErrorSchema.safeParse(body);
    const reason = error.success ? error.data.message : response.statusText;
    throw new DaemonRequestError(`The daemon answered ${response.status}: ${reason}`, response.status);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new DaemonRequestError(`The daemon sent an unexpected answer to ${path}.`, response.status);
  return parsed.data;
}

export type AgentCreateInput = Pick<AgentCreateRequest, "harness" | "prompt" | "name" | "cwd">;

export const daemon = {
  listAgents: (proxyPath: string) =>
    daemonRequest(proxyPath, "api/agents", agentListResponseSchema).then((result) => result.agents),
  createAgent: (proxyPath: string, input: AgentCreateInput) =>
    daemonRequest(proxyPath, "api/agents", agentSchema, { method: "POST", body: JSON.stringify(input) }),
  startAgent: (proxyPath: string, id: string) =>
    daemonRequest(proxyPath, `api/agents/${encodeURIComponent(id)}/start`, agentSchema, { method: "POST" }),
  stopAgent: (proxyPath: string, id: string) =>
    daemonRequest(proxyPath, `api/agents/${encodeURIComponent(id)}/stop`, agentSchema, { method: "POST" }),
  deleteAgent: (proxyPath: string, id: string) =>
    daemonRequest(proxyPath, `api/agents/${encodeURIComponent(id)}`, agentDeleteResponseSchema, { method: "DELETE" }),
  agentOutput: (proxyPath: string, id: string, lines = 200) =>
    daemonRequest(
      proxyPath,
      `api/agents/${encodeURIComponent(id)}/output?lines=${lines}`,
      agentOutputResponseSchema,
    ).then((result) => result.text),
  /** Whether the harness has its credential on the machine (apps/daemon/README.md, Agents). */
  agentPreflight: (proxyPath: string, harness: Harness) =>
    daemonRequest(proxyPath, `api/agents/preflight?harness=${harness}`, agentPreflightResponseSchema),
  listServices: (proxyPath: string) =>
    daemonRequest(proxyPath, "api/logs", logsListResponseSchema).then((result) =>
      result.services.map((service) => service.name),
    ),
  serviceLog: (proxyPath: string, service: string, lines = 200) =>
    daemonRequest(proxyPath, `api/logs/${encodeURIComponent(service)}?lines=${lines}`, logsReadResponseSchema).then(
      (result) => result.lines,
    ),
};

/** TanStack Query keys for daemon data, per machine; invalidating `[...base]` refreshes all of it. */
export const daemonKeys = {
  base: (machineId: string) => ["daemon", machineId] as const,
  agents: (machineId: string) => ["daemon", machineId, "agents"] as const,
  agentOutput: (machineId: string, agentId: string) => ["daemon", machineId, "agents", agentId, "output"] as const,
  agentPreflight: (machineId: string, harness: Harness) => ["daemon", machineId, "agent-preflight", harness] as const,
  services: (machineId: string) => ["daemon", machineId, "services"] as const,
  serviceLog: (machineId: string, service: string) => ["daemon", machineId, "logs", service] as const,
};
