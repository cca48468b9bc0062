import { Readable } from "node:stream";

import { claimRequestSchema, envApplyRequestSchema } from "@os2/protocol";

const SAMPLE = { token: "warm-up-token-0123456789abcdef012345", env: { OS2_WARM_UP: "1" } };

/**
 * Runs once, in process, what the control plane's first requests with a body cost: a JSON body read
 * through a web `Request` built from a Node stream (as @hono/node-server builds them for every route), and
 * the claim and env schemas. Without it the first `PUT /api/claim` or `PUT /api/env` a machine gets took
 * about 35 ms instead of 5 (measured in the image), almost all of it compiling those paths. Called after
 * readiness, while a warm-pool machine waits to be claimed or the control plane reads health. Touches no
 * state: nothing is stored, the credential and the environment are left alone.
 */
export async function warmUpRequestPaths(): Promise<void> {
  const body = Readable.toWeb(Readable.from([Buffer.from(JSON.stringify(SAMPLE))])) as ReadableStream<Uint8Array>;
  const request = new Request("http://127.0.0.1/api/claim", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body,
    duplex: "half",
  });
  const parsed: unknown = await request.json();
  claimRequestSchema.safeParse(parsed);
  envApplyRequestSchema.safeParse({ env: SAMPLE.env });
}
