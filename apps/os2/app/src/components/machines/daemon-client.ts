/**
 * Calls to a machine's daemon through the os2 proxy (`proxyPath` from `machine.getPreviewInfo`). Same origin,
 * so the session cookie authenticates and the proxy adds the daemon credential. Responses are parsed at this
 * boundary; the shapes mirror `@os2/protocol` (apps/os2 does not depend on it, so the few fields used are
 * restated here).
 */
import * as z from "zod/mini";

export const HARNESSES = ["shell", "claude-code", "opencode", "pi"] as const;
export type Harness = (typeof HARNESSES)[number];

const agentSchema = z.object({
  id: z.string(),
  name: z.string(),
  harness: z.enum(HARNESSES),
  cwd: z.string(),
  prompt: z.string(),
  createdAt: z.string(),
  status: z.enum(["running", "exited", "stopped"]),
  exitCode: z.nullable(z.number()),
});
export type Agent = z.infer<typeof agentSchema>;

const agentListSchema = z.object({ agents: z.array(agentSchema) });
const agentOutputSchema = z.object({ id: z.string(), text: z.string() });
const serviceListSchema = z.object({ services: z.array(z.object({ name: z.string() })) });
const serviceLogSchema = z.object({ service: z.string(), lines: z.array(z.string()) });
/** The daemon's `ErrorResponse`, and the proxy's `{ error }` when the machine does not answer. */
const errorSchema = z.object({ error: z.string(), message: z.optional(z.string()) });

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
  schema: z.ZodMiniType<T>,
  init: RequestInit = {},
): Promise<T> {
  const response = await fetch(`${proxyPath}${path}`, {
    ...init,
    credentials: "same-origin",
    headers: { accept: "application/json", ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers },
  });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const parsed = errorSchema.safeParse(body);
    const reason = parsed.success ? (parsed.data.message ?? parsed.data.error) : response.statusText;
    throw new DaemonRequestError(`The daemon answered ${response.status}: ${reason}`, response.status);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new DaemonRequestError(`The daemon sent an unexpected answer to ${path}.`, response.status);
  return parsed.data;
}

export type AgentCreateInput = { harness: Harness; prompt: string; name?: string; cwd?: string };

export const daemon = {
  listAgents: (proxyPath: string) => daemonRequest(proxyPath, "api/agents", agentListSchema).then((result) => result.agents),
  createAgent: (proxyPath: string, input: AgentCreateInput) =>
    daemonRequest(proxyPath, "api/agents", agentSchema, { method: "POST", body: JSON.stringify(input) }),
  startAgent: (proxyPath: string, id: string) =>
    daemonRequest(proxyPath, `api/agents/${encodeURIComponent(id)}/start`, agentSchema, { method: "POST" }),
  stopAgent: (proxyPath: string, id: string) =>
    daemonRequest(proxyPath, `api/agents/${encodeURIComponent(id)}/stop`, agentSchema, { method: "POST" }),
  deleteAgent: (proxyPath: string, id: string) =>
    daemonRequest(proxyPath, `api/agents/${encodeURIComponent(id)}`, z.object({ id: z.string() }), { method: "DELETE" }),
  agentOutput: (proxyPath: string, id: string, lines = 200) =>
    daemonRequest(proxyPath, `api/agents/${encodeURIComponent(id)}/output?lines=${lines}`, agentOutputSchema).then((result) => result.text),
  listServices: (proxyPath: string) =>
    daemonRequest(proxyPath, "api/logs", serviceListSchema).then((result) => result.services.map((service) => service.name)),
  serviceLog: (proxyPath: string, service: string, lines = 200) =>
    daemonRequest(proxyPath, `api/logs/${encodeURIComponent(service)}?lines=${lines}`, serviceLogSchema).then((result) => result.lines),
};

/** TanStack Query keys for daemon data, per machine; invalidating `[...base]` refreshes all of it. */
export const daemonKeys = {
  base: (machineId: string) => ["daemon", machineId] as const,
  agents: (machineId: string) => ["daemon", machineId, "agents"] as const,
  agentOutput: (machineId: string, agentId: string) => ["daemon", machineId, "agents", agentId, "output"] as const,
  services: (machineId: string) => ["daemon", machineId, "services"] as const,
  serviceLog: (machineId: string, service: string) => ["daemon", machineId, "logs", service] as const,
};
