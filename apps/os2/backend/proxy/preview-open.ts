/**
 * `GET /api/previews/open?machineId=&port=&path=` on the dashboard: where a browser without a preview
 * cookie is sent. A signed-in member gets a single-use ticket for that port and is sent back to the preview
 * origin, which exchanges it for its own cookie; anyone else is told to sign in. Links to previews are thus
 * plain links: nothing secret is ever in a URL for longer than a minute, or usable twice.
 */
import type { Context } from "hono";
import { z } from "zod";

import type { Services } from "../services/index.ts";
import { PREVIEW_AUTH_PATH } from "./preview-door.ts";
import type { PreviewOrigin } from "./preview-origin.ts";

const querySchema = z.object({
  machineId: z.string().regex(/^mach_[0-9a-z]{26}$/, "must be a machine id (mach_…)"),
  port: z.coerce.number().int().min(1).max(65535),
  path: z
    .string()
    .max(4096)
    .refine((path) => path.startsWith("/") && !path.startsWith("//"), "must be a path starting with /")
    .default("/"),
});

export async function openPreview(c: Context, deps: { services: Services; previewOrigin: PreviewOrigin }) {
  const parsed = querySchema.safeParse(c.req.query());
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return c.json({ error: `${issue?.path.join(".")}: ${issue?.message}` }, 400);
  }
  const { machineId, port, path } = parsed.data;
  const caller = await deps.services.access.identify(c.req.raw.headers);
  if (caller.kind !== "user") return c.redirect("/login", 302);
  const minted = await deps.services.previews.mintTicket(caller, { machineId, port }).catch(() => null);
  if (!minted) return c.json({ error: "Machine not found" }, 404);
  const target = new URL(PREVIEW_AUTH_PATH, deps.previewOrigin.urlFor(machineId, port));
  target.searchParams.set("ticket", minted.ticket);
  target.searchParams.set("next", path);
  c.header("cache-control", "no-store");
  c.header("referrer-policy", "no-referrer");
  return c.redirect(target.href, 302);
}
