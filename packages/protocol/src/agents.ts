import { z } from "zod";

import { queryIntSchema } from "./common";

export const HARNESSES = ["claude-code", "opencode", "pi", "shell"] as const;
export const harnessSchema = z.enum(HARNESSES, {
  error: () => `must be one of: ${HARNESSES.join(", ")}`,
});
export type Harness = z.infer<typeof harnessSchema>;

/**
 * running: the harness is alive in its tmux session; waiting: alive and waiting for the user's input (best
 * effort, see `statusDetail`); exited: it ended, with `exitCode` (recorded on disk, so it survives daemon and
 * machine restarts); stopped: no session (stopped by the user, or never started, or ended with the machine).
 */
export const agentStatusSchema = z.enum(["running", "waiting", "exited", "stopped"]);
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
  /** Why the status is what it is, in a sentence (e.g. what it waits for); null when there is nothing to add. */
  statusDetail: z.string().nullable().default(null),
});
export type Agent = z.infer<typeof agentSchema>;

/** `GET /api/agents` */
export const agentListResponseSchema = z.object({ agents: z.array(agentSchema) });
export type AgentListResponse = z.infer<typeof agentListResponseSchema>;
/** `DELETE /api/agents/:id` (idempotent). */
export const agentDeleteResponseSchema = z.object({ id: z.string(), deleted: z.boolean() });
export type AgentDeleteResponse = z.infer<typeof agentDeleteResponseSchema>;

/**
 * `GET /api/agents/preflight?harness=`: whether the harness has the credential it needs in the machine's
 * environment. `POST /api/agents` and `POST /api/agents/:id/start` refuse with 400 (field `env`) and the
 * same `message` when it does not.
 */
export const agentPreflightQuerySchema = z.object({ harness: harnessSchema });
export const agentPreflightResponseSchema = z.object({
  harness: harnessSchema,
  ready: z.boolean(),
  /** Env vars any one of which would satisfy the harness; empty when it is ready or needs none. */
  missing: z.array(z.string()),
  /** What is missing and where to set it; null when ready. */
  message: z.string().nullable(),
});
export type AgentPreflightResponse = z.infer<typeof agentPreflightResponseSchema>;

/**
 * `GET /api/agents/:id/output?lines=`: the visible screen plus scrollback of the agent's tmux pane; once the
 * session is gone (a machine restart), the screen the harness left when it ended.
 */
export const agentOutputQuerySchema = z.object({ lines: queryIntSchema(1, 10_000).default(200) });
export const agentOutputResponseSchema = z.object({ id: z.string(), text: z.string() });
export type AgentOutputResponse = z.infer<typeof agentOutputResponseSchema>;
