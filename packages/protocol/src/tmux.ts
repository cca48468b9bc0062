import { z } from "zod";

import { queryIntSchema, tmuxSessionNameSchema } from "./common";

export const tmuxSessionSchema = z.object({
  name: z.string(),
  windows: z.number().int(),
  /** Number of clients attached (terminals open on it). */
  attachedClients: z.number().int(),
  createdAt: z.string(),
});
export type TmuxSession = z.infer<typeof tmuxSessionSchema>;

/** `GET /api/tmux/sessions` */
export const tmuxListResponseSchema = z.object({ sessions: z.array(tmuxSessionSchema) });
export type TmuxListResponse = z.infer<typeof tmuxListResponseSchema>;

/** `POST /api/tmux/sessions`: creates the session unless it exists (idempotent). */
export const tmuxEnsureRequestSchema = z.object({
  name: tmuxSessionNameSchema,
  cwd: z.string().optional(),
  /** Shell command to run instead of a login shell, only used when the session is created. */
  command: z.string().optional(),
});
export type TmuxEnsureRequest = z.input<typeof tmuxEnsureRequestSchema>;
export const tmuxEnsureResponseSchema = z.object({ session: tmuxSessionSchema, created: z.boolean() });
export type TmuxEnsureResponse = z.infer<typeof tmuxEnsureResponseSchema>;

/** `DELETE /api/tmux/sessions/:name`: killing a missing session succeeds with `killed: false`. */
export const tmuxKillResponseSchema = z.object({ name: z.string(), killed: z.boolean() });
export type TmuxKillResponse = z.infer<typeof tmuxKillResponseSchema>;

/**
 * `GET /api/pty/ws?cols=&rows=&tmuxSession=` upgrades to a WebSocket attached to the tmux session
 * (created when missing). Server → client: binary frames of terminal output. Client → server: binary frames
 * of raw input, or text frames holding one `PtyClientMessage` as JSON.
 */
export const ptyQuerySchema = z.object({
  cols: queryIntSchema(2, 1000).default(80),
  rows: queryIntSchema(2, 1000).default(24),
  tmuxSession: tmuxSessionNameSchema.default("main"),
});
export const ptyClientMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("input"), data: z.string() }),
  z.object({
    type: z.literal("resize"),
    cols: z.number().int().min(2).max(1000),
    rows: z.number().int().min(2).max(1000),
  }),
]);
export type PtyClientMessage = z.infer<typeof ptyClientMessageSchema>;
