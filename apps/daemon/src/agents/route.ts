import {
  agentCreateRequestSchema,
  type AgentDeleteResponse,
  type AgentListResponse,
  agentOutputQuerySchema,
  type AgentOutputResponse,
  agentPreflightQuerySchema,
} from "@os2/protocol";
import { Hono } from "hono";

import type { DaemonConfig } from "../config";
import { notFound, parseJsonBody, parseQuery } from "../http/errors";
import { resolveExistingDir } from "../paths";
import type { AgentService } from "./service";

/** `/api/agents`: create, list, get, start, stop, delete, read an agent's screen, and check a harness's credential. */
export function agentRoutes(config: DaemonConfig, agents: AgentService) {
  const find = async (id: string) => {
    const record = await agents.get(id);
    if (!record) throw notFound(`no agent ${id}; GET /api/agents lists them`);
    return record;
  };
  return new Hono()
    .get("/", async (c) => {
      const body: AgentListResponse = { agents: await agents.list() };
      return c.json(body);
    })
    .post("/", async (c) => {
      const req = await parseJsonBody(c, agentCreateRequestSchema);
      const cwd = await resolveExistingDir(config.workspaceDir, req.cwd);
      return c.json(await agents.create({ ...req, cwd }, req.start), 201);
    })
    .get("/preflight", async (c) => {
      const { harness } = parseQuery(c, agentPreflightQuerySchema);
      return c.json(await agents.preflight(harness));
    })
    .get("/:id", async (c) => c.json(await agents.describe(await find(c.req.param("id")))))
    .post("/:id/start", async (c) => c.json(await agents.start(await find(c.req.param("id")))))
    .post("/:id/stop", async (c) => c.json(await agents.stop(await find(c.req.param("id")))))
    .get("/:id/output", async (c) => {
      const { lines } = parseQuery(c, agentOutputQuerySchema);
      const record = await find(c.req.param("id"));
      const text = await agents.output(record, lines);
      const body: AgentOutputResponse = { id: record.id, text };
      return c.json(body);
    })
    .delete("/:id", async (c) => {
      const id = c.req.param("id");
      const body: AgentDeleteResponse = { id, deleted: await agents.delete(id) };
      return c.json(body);
    });
}
