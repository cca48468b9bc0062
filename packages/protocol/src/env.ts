import { z } from "zod";

/** A POSIX-portable variable name, as the control plane accepts them. */
export const envNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be letters, digits and underscores, not starting with a digit")
  .max(256);

/**
 * `PUT /api/env`: the machine's environment as the control plane resolved it (project vars, machine
 * overrides, os2's own), replacing what the last call set. Processes started afterwards (exec, new tmux
 * sessions and terminals, agents) see it; running ones keep what they started with.
 */
export const envApplyRequestSchema = z.object({
  env: z.record(
    envNameSchema,
    z
      .string()
      .max(64 * 1024)
      .refine((value) => !value.includes("\0"), "must not contain NUL"),
  ),
});
export type EnvApplyRequest = z.infer<typeof envApplyRequestSchema>;

/** Names only: the daemon never echoes values back. */
export const envApplyResponseSchema = z.object({
  keys: z.array(z.string()),
  removed: z.array(z.string()),
});
export type EnvApplyResponse = z.infer<typeof envApplyResponseSchema>;
