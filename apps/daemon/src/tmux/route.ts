import {
  tmuxEnsureRequestSchema,
  type TmuxEnsureResponse,
  type TmuxKillResponse,
  type TmuxListResponse,
  tmuxSessionNameSchema,
} from "@os2/protocol";
import { Hono } from "hono";

import type { DaemonConfig } from "../config";
import { HttpError, parseJsonBody, parseOrThrow } from "../http/errors";
import { resolveExistingDir } from "../paths";
import type { Tmux } from "./tmux";

/** `/api/tmux/sessions`: list, ensure (idempotent create) and kill (idempotent). */
export function tmuxRoutes(config: DaemonConfig, tmux: Tmux) {
  return new Hono()
    .get("/", async (c) => {
      const body: TmuxListResponse = { sessions: await tmux.listSessions() };
      return c.json(body);
    })
    .post("/", async (c) => {
      const req = await parseJsonBody(c, tmuxEnsureRequestSchema);
      const cwd = await resolveExistingDir(config.workspaceDir, req.cwd);
      const command = req.command ? ["bash", "-lc", req.command] : undefined;
      const created = await tmux.ensureSession({ name: req.name, cwd, command });
      const session = await tmux.getSession(req.name);
      if (!session)
        throw new HttpError(
          500,
          "internal",
          `tmux session ${req.name} vanished right after creation (did its command exit?)`,
        );
      const body: TmuxEnsureResponse = { session, created };
      return c.json(body, created ? 201 : 200);
    })
    .delete("/:name", async (c) => {
      const name = parseOrThrow(tmuxSessionNameSchema, c.req.param("name"), "name");
      const body: TmuxKillResponse = { name, killed: await tmux.killSession(name) };
      return c.json(body);
    });
}
