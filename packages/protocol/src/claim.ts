import { z } from "zod";

import { envApplyRequestSchema } from "./env";

/**
 * `PUT /api/claim`: a warm-pool machine is handed to one machine of one project. Authenticated by the
 * pool credential the machine booted with (`OS2_POOL_TOKEN`); from then on only `token` is accepted and
 * the pool credential is refused. `env` is applied as by `PUT /api/env`.
 */
export const claimRequestSchema = z.object({
  token: z.string().min(16).max(512),
  env: envApplyRequestSchema.shape.env,
});
export type ClaimRequest = z.infer<typeof claimRequestSchema>;

export const claimResponseSchema = z.object({ claimed: z.literal(true), keys: z.array(z.string()) });
export type ClaimResponse = z.infer<typeof claimResponseSchema>;

/** The daemon route a claim goes to; the dashboard door never relays it (nor `/api/env`). */
export const CLAIM_PATH = "/api/claim";
