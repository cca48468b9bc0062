import { z } from "zod";

import { queryIntSchema } from "./common";

export const HARNESSES = ["claude-code", "opencode", "pi", "shell"] as const;
export const harnessSchema = z.enum(HARNESSES, {
  error: () => `must be one of: ${HARNESSES.join(", ")}`,
});
export type Harness = z.infer<typeof harnessSchema>;

/** running: the harness is alive in its tmux session; exited: it ended (pane kept); stopped: no session. */
export const agentStatusSchema = z.enum(["running", "exited", "stopped"]);
export type AgentStatus = z.infer<typeof agentStatusSchema>;

/** `POST /api/agents` */
export const agentCreateRequestSchema = z.object({
  name: z.string().min(1).max(100).optional(),
  harness: harnessSchema,
  /** Absolute, or relative to the workspace directory. Defaults to the workspace directory. */
  cwd: z.string().optional(),
  /** For `shell`, a command typed into the shell; for the others, the harness's first message. */
  prompt: z.string().default(""),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "env keys must be shell identifiers"), z.string())
    .default({}),
  /** Start it right away (default) or only save its definition. */
  start: z.boolean().default(true),
});
export type AgentCreateRequest = z.input<typeof agentCreateRequestSchema>;

export const agentSchema = z.object({
  id: z.string(),
  name: z.string(),
  harness: harnessSchema,
  cwd: z.string(),
  prompt: z.string(),
  /** Only the names: values may be secrets. */
  envKeys: z.array(z.string()),
  tmuxSession: z.string(),
  createdAt: z.string(),
  status: agentStatusSchema,
  /** Exit status of the harness when `status` is `exited`. */
  exitCode: z.number().int().nullable(),
});
export type Agent = z.infer<typeof agentSchema>;

/** `GET /api/agents` */
export const agentListResponseSchema = z.object({ agents: z.array(agentSchema) });
export type AgentListResponse = z.infer<typeof agentListResponseSchema>;
/** `DELETE /api/agents/:id` (idempotent). */
export const agentDeleteResponseSchema = z.object({ id: z.string(), deleted: z.boolean() });
export type AgentDeleteResponse = z.infer<typeof agentDeleteResponseSchema>;

/** `GET /api/agents/:id/output?lines=`: the visible screen plus scrollback of the agent's tmux pane. */
export const agentOutputQuerySchema = z.object({ lines: queryIntSchema(1, 10_000).default(200) });
export const agentOutputResponseSchema = z.object({ id: z.string(), text: z.string() });
export type AgentOutputResponse = z.infer<typeof agentOutputResponseSchema>;
